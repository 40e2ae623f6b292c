// Lamina's Amazon.Lambda.Serialization.SystemTextJson: the serializers AWS's templates name in
// [assembly: LambdaSerializer(...)], with AWS's options, on Lamina's own JSON binder (Mono has no
// System.Text.Json). Only the parameterless constructors exist: there are no JsonSerializerOptions
// to customise.

using System;
using System.IO;
using System.Text;
using Amazon.Lambda.Core;
using Lamina.Json;
using Lamina.Serialization;

namespace Amazon.Lambda.Serialization.SystemTextJson
{
    /// <summary>A payload that does not fit the handler's input type, or a result that cannot be written as JSON.</summary>
    public class JsonSerializerException : Exception
    {
        public JsonSerializerException(string message) : base(message)
        {
        }

        public JsonSerializerException(string message, Exception exception) : base(message, exception)
        {
        }
    }

    /// <summary>
    /// JSON with property names as declared (PascalCase stays PascalCase), names matched
    /// case-insensitively when reading, and null values left out when writing.
    /// If LAMBDA_NET_SERIALIZER_DEBUG is "true", the JSON in and out is logged.
    /// </summary>
    public class DefaultLambdaJsonSerializer : ILambdaSerializer
    {
        private readonly JsonBinder _binder;
        private readonly bool _debug;

        public DefaultLambdaJsonSerializer() : this(JsonBinder.AwsName)
        {
        }

        internal DefaultLambdaJsonSerializer(Func<string, string> naming)
        {
            _binder = new JsonBinder(naming);
            _debug = string.Equals(Environment.GetEnvironmentVariable("LAMBDA_NET_SERIALIZER_DEBUG"), "true", StringComparison.OrdinalIgnoreCase);
        }

        public void Serialize<T>(T response, Stream responseStream)
        {
            string json;
            try
            {
                json = _binder.ToJson(response);
            }
            catch (Exception e)
            {
                throw new JsonSerializerException("Error converting the response object of type " + typeof(T).FullName + " from the Lambda function to JSON: " + e.Message, e);
            }
            if (_debug)
            {
                Console.WriteLine("Lambda Serialize " + (response == null ? typeof(T) : response.GetType()).FullName + ": " + json);
            }
            byte[] bytes = new UTF8Encoding(false).GetBytes(json);
            responseStream.Write(bytes, 0, bytes.Length);
        }

        public T Deserialize<T>(Stream requestStream)
        {
            try
            {
                byte[] utf8;
                var memory = requestStream as MemoryStream;
                if (memory != null)
                {
                    utf8 = memory.ToArray();
                }
                else
                {
                    using (var copy = new MemoryStream())
                    {
                        requestStream.CopyTo(copy);
                        utf8 = copy.ToArray();
                    }
                }
                if (_debug)
                {
                    Console.WriteLine("Lambda Deserialize " + typeof(T).FullName + ": " + Encoding.UTF8.GetString(utf8));
                }
                return (T)_binder.FromJson(JsonParser.Parse(utf8), typeof(T));
            }
            catch (Exception e)
            {
                string message = typeof(T) == typeof(string)
                    ? "Error converting the Lambda event JSON payload to a string. JSON strings must be quoted, for example \"Hello World\" in order to be converted to a string: " + e.Message
                    : "Error converting the Lambda event JSON payload to type " + typeof(T).FullName + ": " + e.Message;
                throw new JsonSerializerException(message, e);
            }
        }
    }

    /// <summary>As <see cref="DefaultLambdaJsonSerializer"/>, with camelCase property names.</summary>
    public class CamelCaseLambdaJsonSerializer : DefaultLambdaJsonSerializer
    {
        public CamelCaseLambdaJsonSerializer() : base(JsonBinder.CamelCaseAwsName)
        {
        }
    }

    /// <summary>The first serializer of this package (camelCase names); kept for older functions.</summary>
    [Obsolete("Use DefaultLambdaJsonSerializer or CamelCaseLambdaJsonSerializer.")]
    public class LambdaJsonSerializer : DefaultLambdaJsonSerializer
    {
        public LambdaJsonSerializer() : base(JsonBinder.CamelCaseAwsName)
        {
        }
    }
}
