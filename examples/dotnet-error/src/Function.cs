// A .NET Lambda function that fails: it throws an exception (with an inner one), which Lambda
// reports as an unhandled function error: errorType, errorMessage, stackTrace and the cause.
using System;
using System.Collections.Generic;
using Amazon.Lambda.Core;
using Amazon.Lambda.Serialization.SystemTextJson;

[assembly: LambdaSerializer(typeof(DefaultLambdaJsonSerializer))]

namespace ErrorExample
{
    public class Function
    {
        public string FunctionHandler(Dictionary<string, string> order, ILambdaContext context)
        {
            context.Logger.LogInformation("Processing an order");
            try
            {
                return "Shipping " + order["item"];
            }
            catch (KeyNotFoundException e)
            {
                throw new InvalidOperationException("The order names no item", e);
            }
        }
    }
}
