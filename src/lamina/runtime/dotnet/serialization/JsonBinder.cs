// Objects to JSON and back by reflection, following what AWS's System.Text.Json serializers do with
// their options: public properties (not fields), property names through a naming policy, names
// matched case-insensitively when reading, null values left out when writing, enums as numbers,
// DateTime as ISO 8601 (or epoch seconds when read from a number), byte[] and MemoryStream as base64.

using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Reflection;
using System.Text;
using Lamina.Json;

namespace Lamina.Serialization
{
    /// <summary>A value that does not fit its target type (or cannot be written as JSON).</summary>
    internal sealed class JsonBindException : Exception
    {
        public JsonBindException(string message) : base(message)
        {
        }
    }

    internal sealed class JsonBinder
    {
        private const int MaxDepth = 64;
        private static readonly DateTime Epoch = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        private readonly Func<string, string> _naming;
        private readonly ConcurrentDictionary<Type, Member[]> _members = new ConcurrentDictionary<Type, Member[]>();
        private readonly ConcurrentDictionary<Type, Dictionary<string, Member>> _byName =
            new ConcurrentDictionary<Type, Dictionary<string, Member>>();

        public JsonBinder(Func<string, string> naming)
        {
            _naming = naming;
        }

        // -- naming policies --------------------------------------------------------------------

        /// <summary>AWS's naming policy: names as declared, but for two S3 header names.</summary>
        public static string AwsName(string name)
        {
            if (name == "XAmzId2")
            {
                return "x-amz-id-2";
            }
            if (name == "XAmzRequestId")
            {
                return "x-amz-request-id";
            }
            return name;
        }

        public static string CamelCaseAwsName(string name)
        {
            string aws = AwsName(name);
            return aws == name ? CamelCase(name) : aws;
        }

        /// <summary>System.Text.Json's JsonNamingPolicy.CamelCase.</summary>
        public static string CamelCase(string name)
        {
            if (string.IsNullOrEmpty(name) || !char.IsUpper(name[0]))
            {
                return name;
            }
            char[] chars = name.ToCharArray();
            for (int i = 0; i < chars.Length; i++)
            {
                if (i == 1 && !char.IsUpper(chars[i]))
                {
                    break;
                }
                bool hasNext = i + 1 < chars.Length;
                if (i > 0 && hasNext && !char.IsUpper(chars[i + 1]))
                {
                    if (chars[i + 1] == ' ')
                    {
                        chars[i] = char.ToLowerInvariant(chars[i]);
                    }
                    break;
                }
                chars[i] = char.ToLowerInvariant(chars[i]);
            }
            return new string(chars);
        }

        // -- members ----------------------------------------------------------------------------

        private enum IgnoreCondition
        {
            Never = 0,
            Always = 1,
            WhenWritingDefault = 2,
            WhenWritingNull = 3,
        }

        private sealed class Member
        {
            public string Name;
            public PropertyInfo Property;
            public bool CanRead;
            public bool CanWrite;
            public IgnoreCondition? Ignore;
        }

        private Member[] MembersOf(Type type)
        {
            return _members.GetOrAdd(type, DiscoverMembers);
        }

        private Member[] DiscoverMembers(Type type)
        {
            var found = new List<Member>();
            var seen = new HashSet<string>();
            // Most derived first, so that a property hiding an inherited one (`new`) wins.
            for (Type t = type; t != null && t != typeof(object); t = t.BaseType)
            {
                foreach (PropertyInfo p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
                {
                    if (p.GetIndexParameters().Length > 0 || !seen.Add(p.Name))
                    {
                        continue;
                    }
                    MethodInfo getter = p.GetGetMethod();
                    MethodInfo setter = p.GetSetMethod();
                    if (getter == null && setter == null)
                    {
                        continue;
                    }
                    var member = new Member { Property = p, CanRead = getter != null, CanWrite = setter != null, Name = _naming(p.Name) };
                    foreach (object attribute in p.GetCustomAttributes(true))
                    {
                        string attributeName = attribute.GetType().FullName;
                        if (attributeName == "System.Text.Json.Serialization.JsonPropertyNameAttribute")
                        {
                            var name = ReadProperty(attribute, "Name") as string;
                            if (name != null)
                            {
                                member.Name = name;
                            }
                        }
                        else if (attributeName == "System.Text.Json.Serialization.JsonIgnoreAttribute")
                        {
                            object condition = ReadProperty(attribute, "Condition");
                            member.Ignore = condition == null ? IgnoreCondition.Always : (IgnoreCondition)Convert.ToInt32(condition, CultureInfo.InvariantCulture);
                        }
                    }
                    if (member.Ignore == IgnoreCondition.Always)
                    {
                        continue;
                    }
                    found.Add(member);
                }
            }
            // Declaration order with inherited properties first, as System.Text.Json writes them.
            var ordered = new List<Member>();
            var levels = new List<List<Member>>();
            foreach (Member m in found)
            {
                Type declaring = m.Property.DeclaringType;
                if (levels.Count == 0 || levels[levels.Count - 1][0].Property.DeclaringType != declaring)
                {
                    levels.Add(new List<Member>());
                }
                levels[levels.Count - 1].Add(m);
            }
            for (int i = levels.Count - 1; i >= 0; i--)
            {
                ordered.AddRange(levels[i]);
            }
            return ordered.ToArray();
        }

        private static object ReadProperty(object target, string name)
        {
            PropertyInfo p = target.GetType().GetProperty(name);
            return p == null ? null : p.GetValue(target, null);
        }

        private Dictionary<string, Member> WritableByName(Type type)
        {
            return _byName.GetOrAdd(type, t =>
            {
                var map = new Dictionary<string, Member>(StringComparer.OrdinalIgnoreCase);
                foreach (Member m in MembersOf(t))
                {
                    if (m.CanWrite && !map.ContainsKey(m.Name))
                    {
                        map[m.Name] = m;
                    }
                }
                return map;
            });
        }

        // -- reading ----------------------------------------------------------------------------

        public object FromJson(object node, Type type)
        {
            return Read(node, type, "$");
        }

        private static JsonBindException Mismatch(Type type, string path)
        {
            return new JsonBindException("The JSON value could not be converted to " + type.FullName + ". Path: " + path + ".");
        }

        private object Read(object node, Type type, string path)
        {
            if (type == typeof(object))
            {
                return Plain(node);
            }
            Type underlying = Nullable.GetUnderlyingType(type);
            if (node == null)
            {
                if (type.IsValueType && underlying == null)
                {
                    throw Mismatch(type, path);
                }
                return null;
            }
            if (underlying != null)
            {
                type = underlying;
            }

            var text = node as string;
            var number = node as JsonNumber;
            if (type == typeof(string))
            {
                if (text == null)
                {
                    throw Mismatch(type, path);
                }
                return text;
            }
            if (type == typeof(bool))
            {
                if (!(node is bool))
                {
                    throw Mismatch(type, path);
                }
                return node;
            }
            if (type.IsEnum)
            {
                if (number != null)
                {
                    return Enum.ToObject(type, ParseNumber(number, Enum.GetUnderlyingType(type), path));
                }
                if (text != null)
                {
                    try
                    {
                        return Enum.Parse(type, text, true);
                    }
                    catch (ArgumentException)
                    {
                    }
                }
                throw Mismatch(type, path);
            }
            if (type.IsPrimitive || type == typeof(decimal))
            {
                if (type == typeof(char))
                {
                    if (text == null || text.Length != 1)
                    {
                        throw Mismatch(type, path);
                    }
                    return text[0];
                }
                if (number == null)
                {
                    throw Mismatch(type, path);
                }
                return ParseNumber(number, type, path);
            }
            if (type == typeof(DateTime))
            {
                if (number != null)
                {
                    return Epoch.AddSeconds(double.Parse(number.Text, NumberStyles.Float, CultureInfo.InvariantCulture));
                }
                DateTime date;
                if (text != null && DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out date))
                {
                    return date;
                }
                throw Mismatch(type, path);
            }
            if (type == typeof(DateTimeOffset))
            {
                DateTimeOffset offset;
                if (text != null && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out offset))
                {
                    return offset;
                }
                throw Mismatch(type, path);
            }
            if (type == typeof(Guid))
            {
                Guid guid;
                if (text != null && Guid.TryParse(text, out guid))
                {
                    return guid;
                }
                throw Mismatch(type, path);
            }
            if (type == typeof(TimeSpan))
            {
                TimeSpan span;
                if (text != null && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out span))
                {
                    return span;
                }
                throw Mismatch(type, path);
            }
            if (type == typeof(Uri))
            {
                if (text == null)
                {
                    throw Mismatch(type, path);
                }
                return new Uri(text, UriKind.RelativeOrAbsolute);
            }
            if (type == typeof(byte[]) || type == typeof(MemoryStream))
            {
                if (text == null)
                {
                    throw Mismatch(type, path);
                }
                byte[] bytes;
                try
                {
                    bytes = Convert.FromBase64String(text);
                }
                catch (FormatException)
                {
                    throw Mismatch(type, path);
                }
                return type == typeof(byte[]) ? (object)bytes : new MemoryStream(bytes);
            }

            var array = node as JsonArray;
            var obj = node as JsonObject;
            if (type.IsArray)
            {
                if (array == null)
                {
                    throw Mismatch(type, path);
                }
                Type element = type.GetElementType();
                Array result = Array.CreateInstance(element, array.Count);
                for (int i = 0; i < array.Count; i++)
                {
                    result.SetValue(Read(array[i], element, path + "[" + i + "]"), i);
                }
                return result;
            }

            Type dictionary = DictionaryType(type);
            if (dictionary != null)
            {
                if (obj == null)
                {
                    throw Mismatch(type, path);
                }
                Type[] kv = dictionary.GetGenericArguments();
                var target = (IDictionary)Activator.CreateInstance(type.IsInterface ? typeof(Dictionary<,>).MakeGenericType(kv) : type);
                foreach (KeyValuePair<string, object> member in obj)
                {
                    target[ReadKey(member.Key, kv[0], path)] = Read(member.Value, kv[1], path + "." + member.Key);
                }
                return target;
            }

            Type collection = CollectionType(type);
            if (collection != null)
            {
                if (array == null)
                {
                    throw Mismatch(type, path);
                }
                Type element = collection.GetGenericArguments()[0];
                Type concrete = type.IsInterface ? typeof(List<>).MakeGenericType(element) : type;
                object target = Activator.CreateInstance(concrete);
                MethodInfo add = concrete.GetMethod("Add", new[] { element }) ?? collection.GetMethod("Add");
                var args = new object[1];
                for (int i = 0; i < array.Count; i++)
                {
                    args[0] = Read(array[i], element, path + "[" + i + "]");
                    add.Invoke(target, args);
                }
                return target;
            }

            if (obj == null || type.IsInterface || type.IsAbstract)
            {
                if (type.IsInterface || type.IsAbstract)
                {
                    throw new JsonBindException("Deserialization of interface or abstract types is not supported. Type '" + type.FullName + "'. Path: " + path + ".");
                }
                throw Mismatch(type, path);
            }
            object instance;
            try
            {
                instance = Activator.CreateInstance(type, true);
            }
            catch (MissingMethodException)
            {
                throw new JsonBindException("Deserialization of types without a parameterless constructor is not supported. Type '" + type.FullName + "'. Path: " + path + ".");
            }
            Dictionary<string, Member> members = WritableByName(type);
            foreach (KeyValuePair<string, object> pair in obj)
            {
                Member m;
                if (members.TryGetValue(pair.Key, out m))
                {
                    m.Property.SetValue(instance, Read(pair.Value, m.Property.PropertyType, path + "." + pair.Key), null);
                }
            }
            return instance;
        }

        private static object ParseNumber(JsonNumber number, Type type, string path)
        {
            string s = number.Text;
            var inv = CultureInfo.InvariantCulture;
            try
            {
                switch (Type.GetTypeCode(type))
                {
                    case TypeCode.SByte: return sbyte.Parse(s, NumberStyles.AllowLeadingSign, inv);
                    case TypeCode.Byte: return byte.Parse(s, NumberStyles.None, inv);
                    case TypeCode.Int16: return short.Parse(s, NumberStyles.AllowLeadingSign, inv);
                    case TypeCode.UInt16: return ushort.Parse(s, NumberStyles.None, inv);
                    case TypeCode.Int32: return int.Parse(s, NumberStyles.AllowLeadingSign, inv);
                    case TypeCode.UInt32: return uint.Parse(s, NumberStyles.None, inv);
                    case TypeCode.Int64: return long.Parse(s, NumberStyles.AllowLeadingSign, inv);
                    case TypeCode.UInt64: return ulong.Parse(s, NumberStyles.None, inv);
                    case TypeCode.Single: return float.Parse(s, NumberStyles.Float, inv);
                    case TypeCode.Double: return double.Parse(s, NumberStyles.Float, inv);
                    case TypeCode.Decimal: return decimal.Parse(s, NumberStyles.Float, inv);
                }
            }
            catch (FormatException)
            {
            }
            catch (OverflowException)
            {
            }
            throw Mismatch(type, path);
        }

        private object ReadKey(string key, Type type, string path)
        {
            if (type == typeof(string) || type == typeof(object))
            {
                return key;
            }
            Type underlying = Nullable.GetUnderlyingType(type) ?? type;
            if (underlying.IsPrimitive || underlying == typeof(decimal))
            {
                return ParseNumber(new JsonNumber(key), underlying, path);
            }
            return Read(key, type, path);
        }

        private static Type DictionaryType(Type type)
        {
            if (type.IsGenericType)
            {
                Type definition = type.GetGenericTypeDefinition();
                if (definition == typeof(Dictionary<,>) || definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>))
                {
                    return typeof(Dictionary<,>).MakeGenericType(type.GetGenericArguments());
                }
            }
            foreach (Type i in type.GetInterfaces())
            {
                if (i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>) && !type.IsInterface && !type.IsAbstract
                    && typeof(IDictionary).IsAssignableFrom(type) && type.GetConstructor(Type.EmptyTypes) != null)
                {
                    return i;
                }
            }
            return null;
        }

        private static Type CollectionType(Type type)
        {
            if (type.IsGenericType && type.IsInterface)
            {
                Type definition = type.GetGenericTypeDefinition();
                if (definition == typeof(IEnumerable<>) || definition == typeof(ICollection<>) || definition == typeof(IList<>)
                    || definition == typeof(IReadOnlyCollection<>) || definition == typeof(IReadOnlyList<>))
                {
                    return typeof(ICollection<>).MakeGenericType(type.GetGenericArguments());
                }
                return null;
            }
            if (type.IsInterface || type.IsAbstract || type.GetConstructor(Type.EmptyTypes) == null)
            {
                return null;
            }
            foreach (Type i in type.GetInterfaces())
            {
                if (i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ICollection<>))
                {
                    return i;
                }
            }
            return null;
        }

        /// <summary>A JSON value as plain .NET objects: what a handler taking `object` receives.</summary>
        public static object Plain(object node)
        {
            var obj = node as JsonObject;
            if (obj != null)
            {
                var map = new Dictionary<string, object>();
                foreach (KeyValuePair<string, object> pair in obj)
                {
                    map[pair.Key] = Plain(pair.Value);
                }
                return map;
            }
            var array = node as JsonArray;
            if (array != null)
            {
                var list = new List<object>(array.Count);
                foreach (object item in array)
                {
                    list.Add(Plain(item));
                }
                return list;
            }
            var number = node as JsonNumber;
            if (number != null)
            {
                long integer;
                if (number.IsInteger && long.TryParse(number.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out integer))
                {
                    return integer;
                }
                return double.Parse(number.Text, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
            return node;
        }

        // -- writing ----------------------------------------------------------------------------

        public string ToJson(object value)
        {
            var sb = new StringBuilder();
            Write(sb, value, 0);
            return sb.ToString();
        }

        private void Write(StringBuilder sb, object value, int depth)
        {
            if (value == null)
            {
                sb.Append("null");
                return;
            }
            if (depth > MaxDepth)
            {
                throw new JsonBindException("A possible object cycle was detected. This can either be due to a cycle or if the object depth is larger than the maximum allowed depth of " + MaxDepth + ".");
            }
            var inv = CultureInfo.InvariantCulture;
            Type type = value.GetType();
            var text = value as string;
            if (text != null)
            {
                JsonWriter.WriteString(sb, text);
                return;
            }
            if (type.IsEnum)
            {
                sb.Append(Convert.ToString(Convert.ChangeType(value, Enum.GetUnderlyingType(type), inv), inv));
                return;
            }
            switch (Type.GetTypeCode(type))
            {
                case TypeCode.Boolean:
                    sb.Append((bool)value ? "true" : "false");
                    return;
                case TypeCode.Char:
                    JsonWriter.WriteString(sb, value.ToString());
                    return;
                case TypeCode.SByte:
                case TypeCode.Byte:
                case TypeCode.Int16:
                case TypeCode.UInt16:
                case TypeCode.Int32:
                case TypeCode.UInt32:
                case TypeCode.Int64:
                case TypeCode.UInt64:
                case TypeCode.Decimal:
                    sb.Append(Convert.ToString(value, inv));
                    return;
                case TypeCode.Single:
                case TypeCode.Double:
                    double d = Convert.ToDouble(value, inv);
                    if (double.IsNaN(d) || double.IsInfinity(d))
                    {
                        throw new JsonBindException(".NET number values such as positive and negative infinity cannot be written as valid JSON.");
                    }
                    sb.Append(value is float ? ((float)value).ToString("R", inv) : d.ToString("R", inv));
                    return;
                case TypeCode.DateTime:
                    JsonWriter.WriteString(sb, ((DateTime)value).ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFFK", inv));
                    return;
            }
            if (value is DateTimeOffset)
            {
                JsonWriter.WriteString(sb, ((DateTimeOffset)value).ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFFzzz", inv));
                return;
            }
            if (value is Guid)
            {
                JsonWriter.WriteString(sb, ((Guid)value).ToString("D"));
                return;
            }
            if (value is TimeSpan)
            {
                JsonWriter.WriteString(sb, ((TimeSpan)value).ToString("c", inv));
                return;
            }
            var uri = value as Uri;
            if (uri != null)
            {
                JsonWriter.WriteString(sb, uri.OriginalString);
                return;
            }
            var bytes = value as byte[];
            if (bytes != null)
            {
                sb.Append('"').Append(Convert.ToBase64String(bytes)).Append('"');
                return;
            }
            var memory = value as MemoryStream;
            if (memory != null)
            {
                sb.Append('"').Append(Convert.ToBase64String(memory.ToArray())).Append('"');
                return;
            }
            var dictionary = value as IDictionary;
            if (dictionary != null)
            {
                sb.Append('{');
                bool first = true;
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (!first)
                    {
                        sb.Append(',');
                    }
                    first = false;
                    JsonWriter.WriteString(sb, Convert.ToString(entry.Key, inv));
                    sb.Append(':');
                    Write(sb, entry.Value, depth + 1);
                }
                sb.Append('}');
                return;
            }
            if (WriteGenericDictionary(sb, value, type, depth))
            {
                return;
            }
            var sequence = value as IEnumerable;
            if (sequence != null)
            {
                sb.Append('[');
                bool first = true;
                foreach (object item in sequence)
                {
                    if (!first)
                    {
                        sb.Append(',');
                    }
                    first = false;
                    Write(sb, item, depth + 1);
                }
                sb.Append(']');
                return;
            }
            WriteObject(sb, value, type, depth);
        }

        // An IReadOnlyDictionary or IDictionary<K,V> that is not also a non-generic IDictionary.
        private bool WriteGenericDictionary(StringBuilder sb, object value, Type type, int depth)
        {
            foreach (Type i in type.GetInterfaces())
            {
                if (!i.IsGenericType)
                {
                    continue;
                }
                Type definition = i.GetGenericTypeDefinition();
                if (definition != typeof(IDictionary<,>) && definition != typeof(IReadOnlyDictionary<,>))
                {
                    continue;
                }
                Type pair = typeof(KeyValuePair<,>).MakeGenericType(i.GetGenericArguments());
                PropertyInfo key = pair.GetProperty("Key");
                PropertyInfo item = pair.GetProperty("Value");
                sb.Append('{');
                bool first = true;
                foreach (object entry in (IEnumerable)value)
                {
                    if (!first)
                    {
                        sb.Append(',');
                    }
                    first = false;
                    JsonWriter.WriteString(sb, Convert.ToString(key.GetValue(entry, null), CultureInfo.InvariantCulture));
                    sb.Append(':');
                    Write(sb, item.GetValue(entry, null), depth + 1);
                }
                sb.Append('}');
                return true;
            }
            return false;
        }

        private void WriteObject(StringBuilder sb, object value, Type type, int depth)
        {
            sb.Append('{');
            bool first = true;
            foreach (Member m in MembersOf(type))
            {
                if (!m.CanRead)
                {
                    continue;
                }
                object item = m.Property.GetValue(value, null);
                if (item == null && m.Ignore != IgnoreCondition.Never)
                {
                    continue;  // IgnoreNullValues, as AWS's serializers set it
                }
                if (m.Ignore == IgnoreCondition.WhenWritingDefault && item != null && item.GetType().IsValueType
                    && item.Equals(Activator.CreateInstance(item.GetType())))
                {
                    continue;
                }
                if (!first)
                {
                    sb.Append(',');
                }
                first = false;
                JsonWriter.WriteString(sb, m.Name);
                sb.Append(':');
                Write(sb, item, depth + 1);
            }
            sb.Append('}');
        }
    }
}
