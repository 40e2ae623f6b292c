// A handler as AWS documents them for C#: a class-library method taking the event and the
// ILambdaContext, with the assembly's LambdaSerializer for JSON in and out.
// Handler value: HelloWorld::HelloWorld.Function::FunctionHandler
using System.Collections.Generic;
using Amazon.Lambda.Core;
using Amazon.Lambda.Serialization.SystemTextJson;

[assembly: LambdaSerializer(typeof(CamelCaseLambdaJsonSerializer))]

namespace HelloWorld
{
    public class Response
    {
        public int StatusCode { get; set; }
        public string Body { get; set; }
    }

    public class Function
    {
        public Response FunctionHandler(Dictionary<string, object> input, ILambdaContext context)
        {
            return new Response { StatusCode = 200, Body = "\"Hello from Lambda!\"" };
        }
    }
}
