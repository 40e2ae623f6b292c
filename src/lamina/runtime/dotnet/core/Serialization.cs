using System;
using System.IO;

namespace Amazon.Lambda.Core
{
    /// <summary>
    /// Turns the invocation's payload into the handler's input type, and its result into the response.
    /// Needed by every handler whose input or output is not a System.IO.Stream.
    /// </summary>
    public interface ILambdaSerializer
    {
        T Deserialize<T>(Stream requestStream);

        void Serialize<T>(T response, Stream responseStream);
    }

    /// <summary>
    /// Names the ILambdaSerializer of a handler method, or of every handler of an assembly:
    /// <c>[assembly: LambdaSerializer(typeof(DefaultLambdaJsonSerializer))]</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Method | AttributeTargets.Assembly, AllowMultiple = false)]
    public sealed class LambdaSerializerAttribute : Attribute
    {
        public Type SerializerType { get; set; }

        public LambdaSerializerAttribute(Type serializerType)
        {
            SerializerType = serializerType;
        }
    }
}
