// The function's log: stdout (Lamina captures it line by line). Console.WriteLine, Console.Error,
// the context's logger and LambdaLogger all end up here, formatted as AWS's .NET runtime formats
// them: "<UTC time>\t<request id>\t<level>\t<message>", the level as Microsoft.Extensions.Logging
// abbreviates it (info, warn, fail...); or, with AWS_LAMBDA_LOG_FORMAT=JSON, one JSON record a line
// (LogMessages.cs). Console.Write (no line end) is written as it is.

using System;
using System.IO;
using System.Text;
using Amazon.Lambda.Core;

namespace Lamina.Runtime
{
    internal sealed class LogSink
    {
        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false);
        private static readonly object[] NoArguments = new object[0];
        private readonly Stream _out;
        private readonly object _lock = new object();
        private readonly LogLevel _minimum;
        private readonly LogFormat _format;

        internal enum LogFormat { Default, Unformatted, Json }

        public LogSink(Stream output, LogLevel minimum, LogFormat format)
        {
            _out = output;
            _minimum = minimum;
            _format = format;
            RequestId = string.Empty;
        }

        /// <summary>The invocation being served; empty during init.</summary>
        public string RequestId { get; set; }

        /// <summary>
        /// The sink for this process, with the level and format of AWS's variables:
        /// AWS_LAMBDA_LOG_LEVEL (Lambda's logging controls) or AWS_LAMBDA_HANDLER_LOG_LEVEL;
        /// AWS_LAMBDA_HANDLER_LOG_FORMAT or else AWS_LAMBDA_LOG_FORMAT (Lambda's): Json for JSON
        /// records, Unformatted for bare messages.
        /// </summary>
        public static LogSink FromEnvironment(Stream output)
        {
            LogLevel minimum = LogLevel.Information;
            string controls = Environment.GetEnvironmentVariable("AWS_LAMBDA_LOG_LEVEL");
            string handler = Environment.GetEnvironmentVariable("AWS_LAMBDA_HANDLER_LOG_LEVEL");
            LogLevel parsed;
            if (!string.IsNullOrEmpty(controls))
            {
                switch (controls.ToUpperInvariant())
                {
                    case "TRACE": minimum = LogLevel.Trace; break;
                    case "DEBUG": minimum = LogLevel.Debug; break;
                    case "INFO": minimum = LogLevel.Information; break;
                    case "WARN": minimum = LogLevel.Warning; break;
                    case "ERROR": minimum = LogLevel.Error; break;
                    case "FATAL": minimum = LogLevel.Critical; break;
                }
            }
            else if (!string.IsNullOrEmpty(handler) && Enum.TryParse(handler, true, out parsed))
            {
                minimum = parsed;
            }
            string format = Environment.GetEnvironmentVariable("AWS_LAMBDA_HANDLER_LOG_FORMAT");
            if (string.IsNullOrEmpty(format))
            {
                format = Environment.GetEnvironmentVariable("AWS_LAMBDA_LOG_FORMAT");
            }
            LogFormat chosen;
            if (string.IsNullOrEmpty(format) || !Enum.TryParse(format, true, out chosen))
            {
                chosen = LogFormat.Default;
            }
            return new LogSink(output, minimum, chosen);
        }

        /// <summary>Writes <paramref name="text"/> as it is.</summary>
        public void Raw(string text)
        {
            if (string.IsNullOrEmpty(text))
            {
                return;
            }
            Emit(text);
        }

        /// <summary>
        /// One log line at <paramref name="level"/> (a LogLevel name, or any label; null for none).
        /// Lines below the minimum level are dropped.
        /// </summary>
        public void Line(string level, string message)
        {
            Entry(level, null, message, NoArguments);
        }

        /// <summary>
        /// One entry: <paramref name="template"/> with its <paramref name="args"/> and an exception,
        /// at <paramref name="level"/> (as for <see cref="Line"/>), as a text line or a JSON record.
        /// </summary>
        public void Entry(string level, Exception exception, string template, object[] args)
        {
            template = template ?? string.Empty;
            args = args ?? NoArguments;
            LogLevel parsed = LogLevel.Information;
            bool known = level != null && Enum.TryParse(level, true, out parsed) && Enum.IsDefined(typeof(LogLevel), parsed);
            if (!known)
            {
                parsed = LogLevel.Information;
            }
            else if (parsed < _minimum)
            {
                return;
            }
            DateTime now = DateTime.UtcNow;
            string text;
            if (_format == LogFormat.Json)
            {
                // A line without a level of its own (LambdaLogger.Log, a label of the caller's) is Information.
                text = JsonLogRecord.Format(now, parsed.ToString(), RequestId,
                                            Environment.GetEnvironmentVariable("_X_AMZN_TRACE_ID"), template, args, exception);
            }
            else
            {
                string message = args.Length == 0 ? template : MessageTemplate.Apply(template, MessageTemplate.Parse(template), args);
                if (exception != null)
                {
                    message = message.Length == 0 ? exception.ToString() : message + "\n" + exception;
                }
                string label = known ? Abbreviation(parsed) : level;
                if (_format == LogFormat.Unformatted)
                {
                    text = message;
                }
                else
                {
                    string time = now.ToString(MessageTemplate.DateFormat, System.Globalization.CultureInfo.InvariantCulture);
                    text = string.IsNullOrEmpty(label)
                        ? time + "\t" + RequestId + "\t" + message
                        : time + "\t" + RequestId + "\t" + label + "\t" + message;
                }
            }
            Emit(text + "\n");
        }

        private static string Abbreviation(LogLevel level)
        {
            switch (level)
            {
                case LogLevel.Trace: return "trce";
                case LogLevel.Debug: return "dbug";
                case LogLevel.Information: return "info";
                case LogLevel.Warning: return "warn";
                case LogLevel.Error: return "fail";
                case LogLevel.Critical: return "crit";
            }
            return level.ToString();
        }

        private void Emit(string text)
        {
            byte[] bytes = Utf8.GetBytes(text);
            lock (_lock)
            {
                try
                {
                    _out.Write(bytes, 0, bytes.Length);
                    _out.Flush();
                }
                catch (IOException)
                {
                    // Nobody reads the log any more (the environment is being torn down).
                }
            }
        }
    }

    /// <summary>Console.Out or Console.Error: WriteLine makes a formatted line, Write passes through.</summary>
    internal sealed class ConsoleWriter : TextWriter
    {
        private readonly LogSink _sink;
        private readonly string _level;

        public ConsoleWriter(LogSink sink, string level)
        {
            _sink = sink;
            _level = level;
        }

        public override Encoding Encoding
        {
            get { return Encoding.UTF8; }
        }

        public override void Write(char value) { _sink.Raw(value.ToString()); }
        public override void Write(string value) { _sink.Raw(value); }
        public override void Write(char[] buffer, int index, int count) { _sink.Raw(new string(buffer, index, count)); }

        public override void WriteLine() { _sink.Line(_level, string.Empty); }
        public override void WriteLine(string value) { _sink.Line(_level, value ?? string.Empty); }
        public override void WriteLine(object value) { _sink.Line(_level, value == null ? string.Empty : value.ToString()); }
        public override void WriteLine(bool value) { WriteLine(value.ToString()); }
        public override void WriteLine(char value) { WriteLine(value.ToString()); }
        public override void WriteLine(char[] buffer) { WriteLine(buffer == null ? string.Empty : new string(buffer)); }
        public override void WriteLine(char[] buffer, int index, int count) { WriteLine(new string(buffer, index, count)); }
        public override void WriteLine(decimal value) { WriteLine(value.ToString(FormatProvider)); }
        public override void WriteLine(double value) { WriteLine(value.ToString(FormatProvider)); }
        public override void WriteLine(float value) { WriteLine(value.ToString(FormatProvider)); }
        public override void WriteLine(int value) { WriteLine(value.ToString(FormatProvider)); }
        public override void WriteLine(uint value) { WriteLine(value.ToString(FormatProvider)); }
        public override void WriteLine(long value) { WriteLine(value.ToString(FormatProvider)); }
        public override void WriteLine(ulong value) { WriteLine(value.ToString(FormatProvider)); }
        public override void WriteLine(string format, object arg0) { WriteLine(string.Format(FormatProvider, format, arg0)); }
        public override void WriteLine(string format, object arg0, object arg1) { WriteLine(string.Format(FormatProvider, format, arg0, arg1)); }
        public override void WriteLine(string format, object arg0, object arg1, object arg2) { WriteLine(string.Format(FormatProvider, format, arg0, arg1, arg2)); }
        public override void WriteLine(string format, params object[] arg) { WriteLine(string.Format(FormatProvider, format, arg)); }
    }

    /// <summary>The logger of the context object.</summary>
    internal sealed class ContextLogger : ILambdaLogger, ILevelLogger
    {
        private readonly LogSink _sink;

        public ContextLogger(LogSink sink)
        {
            _sink = sink;
        }

        public void Log(string message)
        {
            Console.Write(message);
        }

        public void LogLine(string message)
        {
            _sink.Line("Information", message ?? string.Empty);
        }

        public void LogAtLevel(string level, Exception exception, string template, object[] args)
        {
            _sink.Entry(level, exception, template, args);
        }
    }
}
