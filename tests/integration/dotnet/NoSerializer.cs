// An assembly without [assembly: LambdaSerializer(...)]: Stream handlers work, others cannot.
using System.IO;
using Amazon.Lambda.Core;

namespace NoSerializer
{
    public class Function
    {
        public Stream Echo(Stream input, ILambdaContext context)
        {
            return input;
        }

        public string Text(string input, ILambdaContext context)
        {
            return input;
        }
    }
}
