using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Amazon.Lambda.Core
{
    /// <summary>The log levels of Lambda's logging controls.</summary>
    public enum LogLevel
    {
        Trace = 0,
        Debug = 1,
        Information = 2,
        Warning = 3,
        Error = 4,
        Critical = 5,
    }

    /// <summary>The logger of <see cref="ILambdaContext.Logger"/>.</summary>
    public interface ILambdaLogger
    {
        /// <summary>Writes <paramref name="message"/> to the log as it is.</summary>
        void Log(string message);

        /// <summary>Writes <paramref name="message"/> as one log line (with time and request id).</summary>
        void LogLine(string message);
    }

    /// <summary>
    /// Implemented by the runtime's own logger: an entry at a level, its message template with the
    /// template's arguments and an exception (formatted by the runtime: as text, or as a JSON record
    /// whose members include the arguments). Loggers that lack it (a test's fake) get the formatted
    /// line through <see cref="ILambdaLogger.LogLine"/>.
    /// </summary>
    internal interface ILevelLogger
    {
        void LogAtLevel(string level, Exception exception, string template, object[] args);
    }

    /// <summary>Writes to the function's log from anywhere (no context needed).</summary>
    public static class LambdaLogger
    {
        // Set by the runtime (by reflection, as AWS's runtime does) when it starts; the defaults
        // write to the console, for code run outside Lambda. The second one takes a level, an
        // exception, a message template and its arguments (AWS's names for both fields).
        private static Action<string> _loggingAction = LogToConsole;
        private static Action<string, Exception, string, object[]> _loggingWithLevelAndExceptionAction = LogToConsole;

        private static void LogToConsole(string message)
        {
            Console.WriteLine(message);
        }

        private static void LogToConsole(string level, Exception exception, string message, object[] args)
        {
            Console.WriteLine(LogTemplate.Format(message, args, exception));
        }

        /// <summary>Writes <paramref name="message"/> as one log line.</summary>
        public static void Log(string message)
        {
            _loggingAction(message);
        }

        public static void Log(string level, string message, params object[] args)
        {
            _loggingWithLevelAndExceptionAction(level, null, message, args);
        }

        public static void Log(LogLevel level, string message, params object[] args)
        {
            _loggingWithLevelAndExceptionAction(level.ToString(), null, message, args);
        }

        public static void Log(string level, Exception exception, string message, params object[] args)
        {
            _loggingWithLevelAndExceptionAction(level, exception, message, args);
        }

        public static void Log(LogLevel level, Exception exception, string message, params object[] args)
        {
            _loggingWithLevelAndExceptionAction(level.ToString(), exception, message, args);
        }
    }

    /// <summary>
    /// The level methods of AWS's ILambdaLogger (<c>context.Logger.LogInformation(...)</c>), which
    /// AWS declares as default interface methods; here they are extension methods, so that calls
    /// written for AWS compile unchanged.
    /// </summary>
    public static class LambdaLoggerExtensions
    {
        public static void Log(this ILambdaLogger logger, string level, string message, params object[] args)
        {
            Emit(logger, level, null, message, args);
        }

        public static void Log(this ILambdaLogger logger, LogLevel level, string message, params object[] args)
        {
            Emit(logger, level.ToString(), null, message, args);
        }

        public static void Log(this ILambdaLogger logger, string level, Exception exception, string message, params object[] args)
        {
            Emit(logger, level, exception, message, args);
        }

        public static void Log(this ILambdaLogger logger, LogLevel level, Exception exception, string message, params object[] args)
        {
            Emit(logger, level.ToString(), exception, message, args);
        }

        public static void LogTrace(this ILambdaLogger logger, string message, params object[] args) { Emit(logger, "Trace", null, message, args); }
        public static void LogDebug(this ILambdaLogger logger, string message, params object[] args) { Emit(logger, "Debug", null, message, args); }
        public static void LogInformation(this ILambdaLogger logger, string message, params object[] args) { Emit(logger, "Information", null, message, args); }
        public static void LogWarning(this ILambdaLogger logger, string message, params object[] args) { Emit(logger, "Warning", null, message, args); }
        public static void LogError(this ILambdaLogger logger, string message, params object[] args) { Emit(logger, "Error", null, message, args); }
        public static void LogCritical(this ILambdaLogger logger, string message, params object[] args) { Emit(logger, "Critical", null, message, args); }

        public static void LogTrace(this ILambdaLogger logger, Exception exception, string message, params object[] args) { Emit(logger, "Trace", exception, message, args); }
        public static void LogDebug(this ILambdaLogger logger, Exception exception, string message, params object[] args) { Emit(logger, "Debug", exception, message, args); }
        public static void LogInformation(this ILambdaLogger logger, Exception exception, string message, params object[] args) { Emit(logger, "Information", exception, message, args); }
        public static void LogWarning(this ILambdaLogger logger, Exception exception, string message, params object[] args) { Emit(logger, "Warning", exception, message, args); }
        public static void LogError(this ILambdaLogger logger, Exception exception, string message, params object[] args) { Emit(logger, "Error", exception, message, args); }
        public static void LogCritical(this ILambdaLogger logger, Exception exception, string message, params object[] args) { Emit(logger, "Critical", exception, message, args); }

        // The short names of AWS's structured-logging extensions.
        public static void Trace(this ILambdaLogger logger, string format, params object[] args) { Emit(logger, "Trace", null, format, args); }
        public static void Debug(this ILambdaLogger logger, string format, params object[] args) { Emit(logger, "Debug", null, format, args); }
        public static void Info(this ILambdaLogger logger, string format, params object[] args) { Emit(logger, "Information", null, format, args); }
        public static void Warning(this ILambdaLogger logger, string format, params object[] args) { Emit(logger, "Warning", null, format, args); }
        public static void Error(this ILambdaLogger logger, string format, params object[] args) { Emit(logger, "Error", null, format, args); }
        public static void Error(this ILambdaLogger logger, Exception exception, string format, params object[] args) { Emit(logger, "Error", exception, format, args); }
        public static void Critical(this ILambdaLogger logger, string format, params object[] args) { Emit(logger, "Critical", null, format, args); }
        public static void Critical(this ILambdaLogger logger, Exception exception, string format, params object[] args) { Emit(logger, "Critical", exception, format, args); }

        private static void Emit(ILambdaLogger logger, string level, Exception exception, string template, object[] args)
        {
            var leveled = logger as ILevelLogger;
            if (leveled != null)
            {
                leveled.LogAtLevel(level, exception, template, args);
            }
            else
            {
                logger.LogLine(LogTemplate.Format(template, args, exception));
            }
        }
    }

    /// <summary>
    /// Message templates as AWS's logger reads them: each <c>{name}</c> placeholder takes the next
    /// argument in order (<c>{name,alignment:format}</c> keeps its alignment and format);
    /// <c>{{</c> stands for a brace. Without arguments the message is written as it is.
    /// </summary>
    internal static class LogTemplate
    {
        internal static string Format(string message, object[] args, Exception exception = null)
        {
            string text = message ?? string.Empty;
            if (args != null && args.Length > 0)
            {
                try
                {
                    text = string.Format(CultureInfo.InvariantCulture, Positional(text), args);
                }
                catch (FormatException)
                {
                    // A template that does not fit its arguments is logged as written.
                }
            }
            if (exception != null)
            {
                text = text + Environment.NewLine + exception;
            }
            return text;
        }

        private static string Positional(string template)
        {
            var sb = new StringBuilder(template.Length);
            int index = 0;
            for (int i = 0; i < template.Length; i++)
            {
                char c = template[i];
                if (c == '{' && i + 1 < template.Length && template[i + 1] == '{')
                {
                    sb.Append("{{");
                    i++;
                }
                else if (c == '{')
                {
                    int end = template.IndexOf('}', i + 1);
                    if (end < 0)
                    {
                        sb.Append(template, i, template.Length - i);
                        break;
                    }
                    string inside = template.Substring(i + 1, end - i - 1);
                    int delimiter = inside.IndexOfAny(new[] { ',', ':' });
                    sb.Append('{').Append(index++);
                    if (delimiter >= 0)
                    {
                        sb.Append(inside, delimiter, inside.Length - delimiter);
                    }
                    sb.Append('}');
                    i = end;
                }
                else
                {
                    sb.Append(c);
                }
            }
            return sb.ToString();
        }
    }
}
