// JSON text: parsing into a small value tree, and writing strings. Compiled into both the runtime
// and Lamina's Amazon.Lambda.Serialization.SystemTextJson (each keeps its own internal copy), since
// Mono ships no System.Text.Json.
//
// The tree: JsonObject (members in document order), JsonArray, string, JsonNumber (the number's
// own text, converted once its target type is known), bool, and null.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Lamina.Json
{
    internal sealed class JsonObject : List<KeyValuePair<string, object>>
    {
    }

    internal sealed class JsonArray : List<object>
    {
    }

    internal sealed class JsonNumber
    {
        public readonly string Text;

        public JsonNumber(string text)
        {
            Text = text;
        }

        public bool IsInteger
        {
            get { return Text.IndexOfAny(new[] { '.', 'e', 'E' }) < 0; }
        }

        public override string ToString()
        {
            return Text;
        }
    }

    /// <summary>Malformed JSON text; the message says what and where.</summary>
    internal sealed class JsonTextException : FormatException
    {
        public JsonTextException(string message) : base(message)
        {
        }
    }

    internal sealed class JsonParser
    {
        private const int MaxDepth = 64;
        private readonly string _text;
        private int _pos;
        private int _depth;

        private JsonParser(string text)
        {
            _text = text;
        }

        /// <summary>The value of <paramref name="text"/>, which must hold exactly one JSON value.</summary>
        public static object Parse(string text)
        {
            var parser = new JsonParser(text ?? string.Empty);
            parser.SkipWhitespace();
            if (parser._pos >= parser._text.Length)
            {
                throw new JsonTextException("The input does not contain any JSON tokens. Expected the input to start with a valid JSON token, while isFinalBlock is true. LineNumber: 0 | BytePositionInLine: 0.");
            }
            object value = parser.ParseValue();
            parser.SkipWhitespace();
            if (parser._pos < parser._text.Length)
            {
                throw parser.Error("'" + parser._text[parser._pos] + "' is invalid after a single JSON value. Expected end of data.");
            }
            return value;
        }

        public static object Parse(byte[] utf8)
        {
            int start = utf8.Length >= 3 && utf8[0] == 0xEF && utf8[1] == 0xBB && utf8[2] == 0xBF ? 3 : 0;
            return Parse(Encoding.UTF8.GetString(utf8, start, utf8.Length - start));
        }

        private JsonTextException Error(string what)
        {
            int line = 0, column = 0;
            for (int i = 0; i < _pos && i < _text.Length; i++)
            {
                if (_text[i] == '\n')
                {
                    line++;
                    column = 0;
                }
                else
                {
                    column++;
                }
            }
            return new JsonTextException(what + " LineNumber: " + line + " | BytePositionInLine: " + column + ".");
        }

        private void SkipWhitespace()
        {
            while (_pos < _text.Length)
            {
                char c = _text[_pos];
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
                {
                    _pos++;
                }
                else
                {
                    break;
                }
            }
        }

        private object ParseValue()
        {
            if (_pos >= _text.Length)
            {
                throw Error("Expected a JSON value but reached the end of the data.");
            }
            char c = _text[_pos];
            switch (c)
            {
                case '{':
                    return ParseObject();
                case '[':
                    return ParseArray();
                case '"':
                    return ParseString();
                case 't':
                    return Literal("true", true);
                case 'f':
                    return Literal("false", false);
                case 'n':
                    return Literal("null", null);
                default:
                    if (c == '-' || (c >= '0' && c <= '9'))
                    {
                        return ParseNumber();
                    }
                    throw Error("'" + c + "' is an invalid start of a value.");
            }
        }

        private object Literal(string word, object value)
        {
            if (string.CompareOrdinal(_text, _pos, word, 0, word.Length) != 0)
            {
                throw Error("'" + _text[_pos] + "' is an invalid start of a value.");
            }
            _pos += word.Length;
            return value;
        }

        private void Enter()
        {
            if (++_depth > MaxDepth)
            {
                throw Error("The maximum configured depth of " + MaxDepth + " has been exceeded.");
            }
        }

        private JsonObject ParseObject()
        {
            Enter();
            var obj = new JsonObject();
            _pos++;
            SkipWhitespace();
            if (_pos < _text.Length && _text[_pos] == '}')
            {
                _pos++;
                _depth--;
                return obj;
            }
            while (true)
            {
                SkipWhitespace();
                if (_pos >= _text.Length || _text[_pos] != '"')
                {
                    throw Error("Expected a property name in double quotes.");
                }
                string name = ParseString();
                SkipWhitespace();
                if (_pos >= _text.Length || _text[_pos] != ':')
                {
                    throw Error("Expected ':' after a property name.");
                }
                _pos++;
                SkipWhitespace();
                obj.Add(new KeyValuePair<string, object>(name, ParseValue()));
                SkipWhitespace();
                if (_pos < _text.Length && _text[_pos] == ',')
                {
                    _pos++;
                    continue;
                }
                if (_pos < _text.Length && _text[_pos] == '}')
                {
                    _pos++;
                    _depth--;
                    return obj;
                }
                throw Error("Expected ',' or '}' after a property value.");
            }
        }

        private JsonArray ParseArray()
        {
            Enter();
            var array = new JsonArray();
            _pos++;
            SkipWhitespace();
            if (_pos < _text.Length && _text[_pos] == ']')
            {
                _pos++;
                _depth--;
                return array;
            }
            while (true)
            {
                SkipWhitespace();
                array.Add(ParseValue());
                SkipWhitespace();
                if (_pos < _text.Length && _text[_pos] == ',')
                {
                    _pos++;
                    continue;
                }
                if (_pos < _text.Length && _text[_pos] == ']')
                {
                    _pos++;
                    _depth--;
                    return array;
                }
                throw Error("Expected ',' or ']' after an array element.");
            }
        }

        private string ParseString()
        {
            _pos++;  // the opening quote
            StringBuilder sb = null;
            int runStart = _pos;
            while (_pos < _text.Length)
            {
                char c = _text[_pos];
                if (c == '"')
                {
                    string tail = _text.Substring(runStart, _pos - runStart);
                    _pos++;
                    return sb == null ? tail : sb.Append(tail).ToString();
                }
                if (c < 0x20)
                {
                    throw Error("A control character must be escaped within a JSON string.");
                }
                if (c != '\\')
                {
                    _pos++;
                    continue;
                }
                if (sb == null)
                {
                    sb = new StringBuilder();
                }
                sb.Append(_text, runStart, _pos - runStart);
                _pos++;
                if (_pos >= _text.Length)
                {
                    break;
                }
                char e = _text[_pos++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        int code;
                        if (_pos + 4 > _text.Length || !int.TryParse(_text.Substring(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out code))
                        {
                            throw Error("'\\u' must be followed by four hexadecimal digits.");
                        }
                        sb.Append((char)code);
                        _pos += 4;
                        break;
                    default:
                        _pos--;
                        throw Error("'" + e + "' is not a valid escapable character within a JSON string.");
                }
                runStart = _pos;
            }
            throw Error("Expected end of string, but instead reached end of data.");
        }

        private JsonNumber ParseNumber()
        {
            int start = _pos;
            if (_text[_pos] == '-')
            {
                _pos++;
            }
            if (!Digit())
            {
                throw Error("'-' must be followed by a digit.");
            }
            if (_text[_pos] == '0')
            {
                _pos++;
            }
            else
            {
                Digits();
            }
            if (_pos < _text.Length && _text[_pos] == '.')
            {
                _pos++;
                if (!Digit())
                {
                    throw Error("A decimal point must be followed by a digit.");
                }
                Digits();
            }
            if (_pos < _text.Length && (_text[_pos] == 'e' || _text[_pos] == 'E'))
            {
                _pos++;
                if (_pos < _text.Length && (_text[_pos] == '+' || _text[_pos] == '-'))
                {
                    _pos++;
                }
                if (!Digit())
                {
                    throw Error("An exponent must be followed by a digit.");
                }
                Digits();
            }
            return new JsonNumber(_text.Substring(start, _pos - start));
        }

        private bool Digit()
        {
            return _pos < _text.Length && _text[_pos] >= '0' && _text[_pos] <= '9';
        }

        private void Digits()
        {
            while (Digit())
            {
                _pos++;
            }
        }
    }

    internal static class JsonWriter
    {
        /// <summary>
        /// Appends <paramref name="value"/> as a JSON string. Like System.Text.Json with
        /// UnsafeRelaxedJsonEscaping (what AWS's serializers use): only quotes, backslashes and
        /// control characters are escaped; everything else is written as it is.
        /// </summary>
        public static void WriteString(StringBuilder sb, string value)
        {
            sb.Append('"');
            int runStart = 0;
            for (int i = 0; i < value.Length; i++)
            {
                char c = value[i];
                string escape;
                switch (c)
                {
                    case '"': escape = "\\\""; break;
                    case '\\': escape = "\\\\"; break;
                    case '\n': escape = "\\n"; break;
                    case '\r': escape = "\\r"; break;
                    case '\t': escape = "\\t"; break;
                    case '\b': escape = "\\b"; break;
                    case '\f': escape = "\\f"; break;
                    default:
                        if (c >= 0x20)
                        {
                            continue;
                        }
                        escape = "\\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture);
                        break;
                }
                sb.Append(value, runStart, i - runStart).Append(escape);
                runStart = i + 1;
            }
            sb.Append(value, runStart, value.Length - runStart).Append('"');
        }

        public static string Quote(string value)
        {
            var sb = new StringBuilder(value.Length + 2);
            WriteString(sb, value);
            return sb.ToString();
        }
    }
}
