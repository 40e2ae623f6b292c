// A first .NET Lambda function, written as AWS documents one: greets whoever the event names, and
// counts the invocations its (warm) execution environment has served.
using System;
using Amazon.Lambda.Core;
using Amazon.Lambda.Serialization.SystemTextJson;

// Turns the JSON event into a Request and the Response into JSON.
[assembly: LambdaSerializer(typeof(DefaultLambdaJsonSerializer))]

namespace HelloWorld
{
    public class Request
    {
        public string Name { get; set; }
    }

    public class Response
    {
        public string Message { get; set; }
        public string FunctionName { get; set; }
        public string RequestId { get; set; }
        public int WarmInvocations { get; set; }
        public string Runtime { get; set; }
    }

    public class Function
    {
        // Static state survives between invocations of a warm environment.
        private static int _invocations;

        public Response FunctionHandler(Request request, ILambdaContext context)
        {
            _invocations++;
            string name = string.IsNullOrEmpty(request?.Name) ? "world" : request.Name;
            context.Logger.LogInformation($"Greeting {name} (invocation {_invocations} of this environment)");
            return new Response
            {
                Message = $"Hello, {name}!",
                FunctionName = context.FunctionName,
                RequestId = context.AwsRequestId,
                WarmInvocations = _invocations,
                Runtime = Environment.GetEnvironmentVariable("AWS_EXECUTION_ENV"),
            };
        }
    }
}
