// Lamina's .NET runtime: the process that runs inside every dotnet8/dotnet10 execution environment
// (on Mono). It loads the handler named by _HANDLER (ASSEMBLY::TYPE::METHOD) from LAMBDA_TASK_ROOT,
// then loops on the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API (in Lamina's framed encoding,
// FramedClient.cs): fetch the next event, call the handler, post the result or the error. Errors,
// log lines and the context object follow AWS's .NET runtime (Amazon.Lambda.RuntimeSupport).
//
// Exit codes: 0 when the Runtime API goes away (the environment is being stopped), 1 after an init
// error or when the Runtime API answers what a runtime cannot go on after.

using System;
using System.IO;
using System.Reflection;
using Amazon.Lambda.Core;

namespace Lamina.Runtime
{
    internal static class Program
    {
        private static int Main(string[] args)
        {
            var sink = LogSink.FromEnvironment(Console.OpenStandardOutput());
            Console.SetOut(new ConsoleWriter(sink, "Information"));
            Console.SetError(new ConsoleWriter(sink, "Error"));
            ConnectLambdaLogger(sink);

            string address = Environment.GetEnvironmentVariable("AWS_LAMBDA_RUNTIME_API");
            if (string.IsNullOrEmpty(address))
            {
                Console.Error.WriteLine("AWS_LAMBDA_RUNTIME_API is not set");
                return 1;
            }
            string handlerName = Environment.GetEnvironmentVariable("_HANDLER") ?? (args.Length > 0 ? args[0] : string.Empty);
            string taskRoot = Environment.GetEnvironmentVariable("LAMBDA_TASK_ROOT") ?? Directory.GetCurrentDirectory();
            string runtimeDir = Path.GetDirectoryName(typeof(Program).Assembly.Location);

            using (IRuntimeApi client = new FramedRuntimeApiClient(address))
            {
                try
                {
                    Handler handler;
                    try
                    {
                        handler = HandlerLoader.Load(handlerName, taskRoot, runtimeDir);
                    }
                    catch (Exception e) when (!(e is RuntimeApiGoneException))
                    {
                        Exception error = ErrorReport.Unwrap(e);
                        Console.Error.WriteLine(ErrorReport.LogText(error));
                        client.PostInitError(ErrorReport.ToJson(error));
                        return 1;
                    }
                    Serve(client, handler, sink);
                    return 0;
                }
                catch (RuntimeApiGoneException)
                {
                    return 0;
                }
                catch (RuntimeApiClientException e)
                {
                    Console.Error.WriteLine("Runtime.LambdaRuntimeClientError: " + e.Message);
                    return 1;
                }
            }
        }

        private static void Serve(IRuntimeApi client, Handler handler, LogSink sink)
        {
            FunctionEnvironment environment = FunctionEnvironment.Read();
            var logger = new ContextLogger(sink);
            while (true)
            {
                Invocation invocation = client.Next();
                sink.RequestId = invocation.RequestId;
                string traceId = invocation.Response.Header(RuntimeApiClient.HeaderTraceId);
                Environment.SetEnvironmentVariable("_X_AMZN_TRACE_ID", string.IsNullOrEmpty(traceId) ? null : traceId);

                byte[] output = null;
                Exception error = null;
                try
                {
                    var context = new LambdaContext(invocation, environment, logger);
                    output = handler.Invoke(invocation.Response.Body, context);
                }
                catch (Exception e)
                {
                    error = ErrorReport.Unwrap(e);
                }

                if (error == null)
                {
                    client.PostResponse(invocation.RequestId, output);
                }
                else
                {
                    Console.Error.WriteLine(ErrorReport.LogText(error));
                    client.PostError(invocation.RequestId, ErrorReport.TypeName(error), ErrorReport.ToJson(error));
                }
            }
        }

        // LambdaLogger (static) writes through private hooks, set here as AWS's runtime sets its own.
        private static void ConnectLambdaLogger(LogSink sink)
        {
            Type logger = typeof(LambdaLogger);
            const BindingFlags flags = BindingFlags.NonPublic | BindingFlags.Static;
            Action<string> plain = message => sink.Line(null, message ?? string.Empty);
            Action<string, Exception, string, object[]> leveled = sink.Entry;
            logger.GetField("_loggingAction", flags).SetValue(null, plain);
            logger.GetField("_loggingWithLevelAndExceptionAction", flags).SetValue(null, leveled);
        }
    }
}
