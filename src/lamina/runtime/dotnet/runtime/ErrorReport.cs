// Exceptions as AWS's .NET runtime reports them: errorType is the exception's class name (without
// namespace), errorMessage its message, stackTrace its frames one per item, and inner exceptions
// nested as "cause" (or "causes" for an AggregateException).

using System;
using System.Reflection;
using System.Text;
using Lamina.Json;

namespace Lamina.Runtime
{
    /// <summary>
    /// The function cannot be run as configured (the handler string, the assembly, type or method,
    /// the serializer). AWS's .NET runtime reports these under this type name too.
    /// </summary>
    internal sealed class LambdaValidationException : Exception
    {
        public LambdaValidationException(string message) : base(message)
        {
        }
    }

    internal static class ErrorReport
    {
        /// <summary>
        /// The exception the function's code threw, out of reflection's wrapper. (A failed static
        /// constructor stays a TypeInitializationException: the type it names is worth reporting.)
        /// </summary>
        public static Exception Unwrap(Exception e)
        {
            while (e is TargetInvocationException && e.InnerException != null)
            {
                e = e.InnerException;
            }
            return e;
        }

        /// <summary>What the log shows of an error: the exception as .NET prints it.</summary>
        public static string LogText(Exception e)
        {
            // The runtime's own checks: their frames would say nothing about the function.
            if (e is LambdaValidationException)
            {
                return TypeName(e) + ": " + e.Message;
            }
            var text = new StringBuilder();
            foreach (string line in e.ToString().Split('\n'))
            {
                if (!IsRuntimeFrame(line.Trim()))
                {
                    text.Append(text.Length == 0 ? "" : "\n").Append(line.TrimEnd());
                }
            }
            return text.ToString();
        }

        private static bool IsRuntimeFrame(string line)
        {
            return line.StartsWith("at Lamina.Runtime.", StringComparison.Ordinal)
                || line.StartsWith("at (wrapper managed-to-native) System.Reflection.", StringComparison.Ordinal)
                || line.StartsWith("at System.Reflection.RuntimeMethodInfo.Invoke", StringComparison.Ordinal)
                || line.StartsWith("at System.Reflection.MethodBase.Invoke", StringComparison.Ordinal);
        }

        public static string TypeName(Exception e)
        {
            return e.GetType().Name;
        }

        public static string ToJson(Exception e)
        {
            var sb = new StringBuilder();
            Write(sb, e, 0);
            return sb.ToString();
        }

        private static void Write(StringBuilder sb, Exception e, int depth)
        {
            sb.Append("{\"errorType\":").Append(JsonWriter.Quote(TypeName(e)));
            sb.Append(",\"errorMessage\":").Append(JsonWriter.Quote(e.Message ?? string.Empty));
            sb.Append(",\"stackTrace\":[");
            bool first = true;
            foreach (string frame in Frames(e))
            {
                if (!first)
                {
                    sb.Append(',');
                }
                first = false;
                JsonWriter.WriteString(sb, frame);
            }
            sb.Append(']');
            if (depth < 8)
            {
                var aggregate = e as AggregateException;
                if (aggregate != null && aggregate.InnerExceptions.Count > 0)
                {
                    sb.Append(",\"causes\":[");
                    for (int i = 0; i < aggregate.InnerExceptions.Count; i++)
                    {
                        if (i > 0)
                        {
                            sb.Append(',');
                        }
                        Write(sb, aggregate.InnerExceptions[i], depth + 1);
                    }
                    sb.Append(']');
                }
                else if (e.InnerException != null)
                {
                    sb.Append(",\"cause\":");
                    Write(sb, e.InnerException, depth + 1);
                }
            }
            sb.Append('}');
        }

        /// <summary>
        /// The exception's stack frames, trimmed, without the runtime's own frames and reflection's
        /// invoke frames (the function's code is what the reader needs to see).
        /// </summary>
        public static string[] Frames(Exception e)
        {
            if (e is LambdaValidationException)
            {
                return new string[0];
            }
            string trace = e.StackTrace;
            if (string.IsNullOrEmpty(trace))
            {
                return new string[0];
            }
            var frames = new System.Collections.Generic.List<string>();
            foreach (string raw in trace.Split('\n'))
            {
                string line = raw.Trim();
                if (line.Length == 0 || IsRuntimeFrame(line))
                {
                    continue;
                }
                frames.Add(line);
            }
            // An "end of stack trace" marker with nothing of the function's after it is noise.
            while (frames.Count > 0 && frames[frames.Count - 1].StartsWith("---", StringComparison.Ordinal))
            {
                frames.RemoveAt(frames.Count - 1);
            }
            return frames.ToArray();
        }
    }
}
