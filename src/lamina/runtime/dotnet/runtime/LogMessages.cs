// Log entries as AWS's .NET runtime formats them (Amazon.Lambda.RuntimeSupport's log message
// formatters). A message template's properties ("{name}", "{name:format}", "{@name}") take the
// entry's arguments in order, or by position when the names are the numbers 0..n-1 ("{0} {1} {0}");
// "{{" is a brace. As text the message is the template with its properties replaced; as JSON
// (AWS_LAMBDA_LOG_FORMAT=JSON) it is one record:
//   {"timestamp", "level", "requestId", "traceId", "message", <each property>, "errorType",
//    "errorMessage", "stackTrace"}
// with the request id and trace id left out when there are none (during init), each property a
// member holding its argument (numbers and booleans as JSON's, lists as arrays, dictionaries as
// objects, null ones left out), and the exception's full type name, message and text, line by line.

using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Lamina.Json;

namespace Lamina.Runtime
{
    internal sealed class TemplateProperty
    {
        public TemplateProperty(string token)
        {
            Token = "{" + token + "}";
            if (token.Length > 0 && token[0] == '@')
            {
                Serialize = true;
                token = token.Substring(1);
            }
            int colon = token.IndexOf(':');
            Name = (colon < 0 ? token : token.Substring(0, colon)).Trim();
            string format = colon < 0 ? null : token.Substring(colon + 1).Trim();
            Format = string.IsNullOrEmpty(format) ? null : format;
        }

        /// <summary>The property as written in the template, braces included.</summary>
        public string Token { get; private set; }
        public string Name { get; private set; }
        public string Format { get; private set; }
        /// <summary>"{@name}": AWS serializes the argument as JSON (here: its text, AWS's fallback).</summary>
        public bool Serialize { get; private set; }
    }

    internal static class MessageTemplate
    {
        internal const string DateFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";

        private enum State { InMessage, PossibleOpen, InProperty }

        public static List<TemplateProperty> Parse(string template)
        {
            var properties = new List<TemplateProperty>();
            var state = State.InMessage;
            int start = -1;
            for (int i = 0; i < template.Length; i++)
            {
                char c = template[i];
                if (c == '{')
                {
                    state = state == State.InMessage ? State.PossibleOpen : state == State.PossibleOpen ? State.InMessage : state;
                }
                else if (c == '}')
                {
                    if (state != State.InMessage)
                    {
                        if (start != -1)
                        {
                            properties.Add(new TemplateProperty(template.Substring(start, i - start)));
                        }
                        state = State.InMessage;
                        start = -1;
                    }
                }
                else if (state == State.PossibleOpen)
                {
                    start = i;
                    state = State.InProperty;
                }
            }
            return properties;
        }

        /// <summary>Whether the properties are positions (0 to n-1, each at least once) rather than names.</summary>
        public static bool Positional(List<TemplateProperty> properties)
        {
            int min = int.MaxValue, max = int.MinValue;
            var positions = new HashSet<int>();
            foreach (var property in properties)
            {
                int position;
                if (!int.TryParse(property.Name, NumberStyles.Integer, CultureInfo.InvariantCulture, out position))
                {
                    return false;
                }
                positions.Add(position);
                min = Math.Min(min, position);
                max = Math.Max(max, position);
            }
            return positions.Count == max + 1 && min == 0;
        }

        /// <summary>The message: <paramref name="template"/> with its properties replaced by their arguments.</summary>
        public static string Apply(string template, List<TemplateProperty> properties, object[] args)
        {
            if (properties.Count == 0)
            {
                return template;
            }
            bool positional = Positional(properties);
            var message = new StringBuilder(template.Length + template.Length / 10);
            var pending = new StringBuilder();
            var state = State.InMessage;
            int index = 0;
            for (int i = 0; i < template.Length; i++)
            {
                char c = template[i];
                if (!positional && (properties.Count <= index || args.Length <= index))
                {
                    message.Append(c);  // more properties than arguments: the rest is as written
                    continue;
                }
                if (c == '{')
                {
                    if (state == State.InMessage)
                    {
                        pending.Append(c);
                        state = State.PossibleOpen;
                    }
                    else if (state == State.PossibleOpen)
                    {
                        message.Append(pending.ToString()).Append(c);  // "{{"
                        pending.Clear();
                        state = State.InMessage;
                    }
                    else
                    {
                        pending.Append(c);
                    }
                }
                else if (c == '}')
                {
                    if (state == State.InMessage)
                    {
                        message.Append(c);
                        continue;
                    }
                    var property = properties[index];
                    object argument = null;
                    if (positional)
                    {
                        int position = int.Parse(property.Name, CultureInfo.InvariantCulture);
                        argument = position < args.Length ? args[position] : null;
                    }
                    else
                    {
                        argument = args[index];
                    }
                    message.Append(ForMessage(property, argument));
                    index++;
                    pending.Clear();
                    state = State.InMessage;
                }
                else if (state == State.InMessage)
                {
                    message.Append(c);
                }
                else if (state == State.PossibleOpen)
                {
                    pending.Append(c);
                    state = State.InProperty;
                }
            }
            return message.ToString();
        }

        private static string ForMessage(TemplateProperty property, object value)
        {
            var bytes = value as byte[];
            if (bytes != null)
            {
                return Hex(bytes);
            }
            if (value == null || value is IList || value is IDictionary)
            {
                return property.Token;
            }
            if (property.Format != null)
            {
                return WithFormat(value, property.Format);
            }
            if (value is DateTime)
            {
                return ((DateTime)value).ToString(DateFormat, CultureInfo.InvariantCulture);
            }
            if (value is DateTimeOffset)
            {
                return ((DateTimeOffset)value).ToString(DateFormat, CultureInfo.InvariantCulture);
            }
            return value.ToString();
        }

        public static string WithFormat(object value, string format)
        {
            try
            {
                return string.Format("{0:" + format + "}", value);
            }
            catch (FormatException)
            {
                return value.ToString();
            }
        }

        /// <summary>Bytes as hex, the first 16 of them and then their count (as AWS's formatter writes them).</summary>
        public static string Hex(byte[] bytes)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < bytes.Length; i++)
            {
                if (i == 16)
                {
                    sb.Append("... (").Append(bytes.Length).Append(" bytes)");
                    break;
                }
                sb.Append(bytes[i].ToString("X2", CultureInfo.InvariantCulture));
            }
            return sb.ToString();
        }
    }

    internal static class JsonLogRecord
    {
        /// <summary>One record (no line end): see the file's comment for its members.</summary>
        public static string Format(DateTime time, string level, string requestId, string traceId,
                                    string template, object[] args, Exception exception)
        {
            template = template ?? string.Empty;
            args = args ?? new object[0];
            var properties = args.Length == 0 ? new List<TemplateProperty>() : MessageTemplate.Parse(template);
            string message = MessageTemplate.Apply(template, properties, args);

            var sb = new StringBuilder(128 + message.Length);
            sb.Append("{\"timestamp\":");
            JsonWriter.WriteString(sb, time.ToString(MessageTemplate.DateFormat, CultureInfo.InvariantCulture));
            sb.Append(",\"level\":");
            JsonWriter.WriteString(sb, level);
            if (!string.IsNullOrEmpty(requestId))
            {
                sb.Append(",\"requestId\":");
                JsonWriter.WriteString(sb, requestId);
            }
            if (!string.IsNullOrEmpty(traceId))
            {
                sb.Append(",\"traceId\":");
                JsonWriter.WriteString(sb, traceId);
            }
            sb.Append(",\"message\":");
            JsonWriter.WriteString(sb, message);
            WriteProperties(sb, properties, args);
            if (exception != null)
            {
                sb.Append(",\"errorType\":");
                JsonWriter.WriteString(sb, exception.GetType().FullName);
                sb.Append(",\"errorMessage\":");
                JsonWriter.WriteString(sb, exception.Message);
                sb.Append(",\"stackTrace\":[");
                string[] lines = exception.ToString().Split('\n');
                for (int i = 0; i < lines.Length; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }
                    JsonWriter.WriteString(sb, lines[i].Trim());
                }
                sb.Append(']');
            }
            return sb.Append('}').ToString();
        }

        private static void WriteProperties(StringBuilder sb, List<TemplateProperty> properties, object[] args)
        {
            bool positional = MessageTemplate.Positional(properties);
            for (int i = 0; i < properties.Count; i++)
            {
                object argument;
                if (positional)
                {
                    int position = int.Parse(properties[i].Name, CultureInfo.InvariantCulture);
                    if (position >= args.Length)
                    {
                        continue;
                    }
                    argument = args[position];
                }
                else
                {
                    if (args.Length <= i)
                    {
                        break;  // more properties than arguments
                    }
                    argument = args[i];
                }
                if (argument == null)
                {
                    continue;
                }
                sb.Append(',');
                JsonWriter.WriteString(sb, properties[i].Name);
                sb.Append(':');
                var list = argument as IList;
                var dictionary = argument as IDictionary;
                if (list != null && !(argument is byte[]))
                {
                    sb.Append('[');
                    bool first = true;
                    foreach (object item in list)
                    {
                        if (!first)
                        {
                            sb.Append(',');
                        }
                        first = false;
                        WriteValue(sb, item, properties[i].Format);
                    }
                    sb.Append(']');
                }
                else if (dictionary != null)
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
                        JsonWriter.WriteString(sb, Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? string.Empty);
                        sb.Append(':');
                        WriteValue(sb, entry.Value, properties[i].Format);
                    }
                    sb.Append('}');
                }
                else
                {
                    WriteValue(sb, argument, properties[i].Format);
                }
            }
        }

        private static void WriteValue(StringBuilder sb, object value, string format)
        {
            if (value == null)
            {
                sb.Append("null");
            }
            else if (format != null)
            {
                JsonWriter.WriteString(sb, MessageTemplate.WithFormat(value, format));
            }
            else if (value is bool)
            {
                sb.Append((bool)value ? "true" : "false");
            }
            else if (value is byte || value is sbyte || value is short || value is ushort || value is int
                     || value is uint || value is long || value is ulong || value is decimal)
            {
                sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
            }
            else if (value is double || value is float)
            {
                double number = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (double.IsNaN(number) || double.IsInfinity(number))
                {
                    JsonWriter.WriteString(sb, number.ToString(CultureInfo.InvariantCulture));  // JSON has no number for them
                }
                else
                {
                    sb.Append(value is float ? ((float)value).ToString("R", CultureInfo.InvariantCulture)
                                             : number.ToString("R", CultureInfo.InvariantCulture));
                }
            }
            else if (value is DateTime)
            {
                JsonWriter.WriteString(sb, ((DateTime)value).ToString(MessageTemplate.DateFormat, CultureInfo.InvariantCulture));
            }
            else if (value is DateTimeOffset)
            {
                JsonWriter.WriteString(sb, ((DateTimeOffset)value).ToString(MessageTemplate.DateFormat, CultureInfo.InvariantCulture));
            }
            else if (value is byte[])
            {
                JsonWriter.WriteString(sb, MessageTemplate.Hex((byte[])value));
            }
            else
            {
                JsonWriter.WriteString(sb, Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty);
            }
        }
    }
}
