// Functions for tests/integration/test_dotnet.py, written as AWS documents .NET handlers.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using Amazon.Lambda.Core;
using Amazon.Lambda.Serialization.SystemTextJson;

[assembly: LambdaSerializer(typeof(DefaultLambdaJsonSerializer))]

namespace LaminaTests
{
    public class Address
    {
        public string City { get; set; }
        public string Zip { get; set; }
    }

    public class Person
    {
        public string Name { get; set; }
        public int Age { get; set; }
        public double Score { get; set; }
        public List<string> Tags { get; set; }
        public Address Address { get; set; }
        public Dictionary<string, int> Counts { get; set; }
        public DateTime Born { get; set; }
        public bool? Active { get; set; }
    }

    public class Greeting
    {
        public string Message { get; set; }
        public int NameLength { get; set; }
        public string Nothing { get; set; }
        [JsonPropertyName("city_name")]
        public string City { get; set; }
        [JsonIgnore]
        public string Secret { get; set; }
        public string[] Tags { get; set; }
        public int TotalCount { get; set; }
        public DateTime Born { get; set; }
        public decimal Price { get; set; }
        public double Ratio { get; set; }
        public string Unicode { get; set; }
    }

    public class Function
    {
        private static int _invocations;
        private readonly int _constructed = Interlocked.Increment(ref _constructions);
        private static int _constructions;

        public string Upper(string input, ILambdaContext context)
        {
            return input.ToUpperInvariant();
        }

        public Greeting Greet(Person person, ILambdaContext context)
        {
            return new Greeting
            {
                Message = "Hello, " + person.Name + " (" + person.Age + ")",
                NameLength = person.Name.Length,
                City = person.Address == null ? null : person.Address.City,
                Secret = "hidden",
                Tags = person.Tags == null ? null : person.Tags.Select(t => t.ToUpperInvariant()).ToArray(),
                TotalCount = person.Counts == null ? 0 : person.Counts.Values.Sum(),
                Born = person.Born,
                Price = 12.50m,
                Ratio = person.Score / 2,
                Unicode = "h\u00e9llo \"quoted\" <tag>\n",
            };
        }

        public Stream Reverse(Stream input)
        {
            var buffer = new MemoryStream();
            input.CopyTo(buffer);
            byte[] bytes = buffer.ToArray();
            Array.Reverse(bytes);
            return new MemoryStream(bytes);
        }

        public Dictionary<string, object> Context(Dictionary<string, object> input, ILambdaContext context)
        {
            Console.WriteLine("console line " + context.AwsRequestId);
            Console.Error.WriteLine("error line");
            context.Logger.LogLine("logger line");
            context.Logger.LogInformation("info {name} {n}", "tmpl", 7);
            context.Logger.LogDebug("debug line hidden");
            context.Logger.LogWarning("warning line");
            LambdaLogger.Log("static logger line");
            return new Dictionary<string, object>
            {
                { "AwsRequestId", context.AwsRequestId },
                { "FunctionName", context.FunctionName },
                { "FunctionVersion", context.FunctionVersion },
                { "InvokedFunctionArn", context.InvokedFunctionArn },
                { "MemoryLimitInMB", context.MemoryLimitInMB },
                { "LogGroupName", context.LogGroupName },
                { "LogStreamName", context.LogStreamName },
                { "RemainingMs", (long)context.RemainingTime.TotalMilliseconds },
                { "IdentityId", context.Identity == null ? "none" : context.Identity.IdentityId },
                { "ClientCustom", context.ClientContext == null || context.ClientContext.Custom == null ? null : context.ClientContext.Custom },
                { "Input", input },
                { "Cwd", Directory.GetCurrentDirectory() },
                { "Env", Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string)e.Value) },
            };
        }

        public string Logs(ILambdaContext context)
        {
            Console.WriteLine("console {not a property}");
            Console.Error.WriteLine("error line");
            context.Logger.LogLine("logger line");
            context.Logger.LogInformation("order {id} for {customer} costs {price:F2}", 42, "ann", 3.5);
            context.Logger.LogInformation("items {items} and {{braces}} and {missing}", new List<int> { 1, 2 });
            context.Logger.LogDebug("debug {n}", 1);
            context.Logger.LogWarning("positional {1} then {0}", "a", "b");
            context.Logger.LogError(new InvalidOperationException("it broke"), "failed {step}", "save");
            context.Logger.LogTrace("trace line");
            LambdaLogger.Log("static logger line");
            return context.AwsRequestId;
        }

        // Templates that are not what they should be: each is still one log entry, and the handler goes on.
        public int BadTemplates(ILambdaContext context)
        {
            var templates = new[] { "{", "}", "{{{x}", "{:F2}", "{@}", "{ }", "{0}{1}{0}", "{n:Q9}", "{n:a}{1}", "end {", null };
            var self = new List<object>();
            self.Add(self);
            foreach (string template in templates)
            {
                context.Logger.LogInformation(template, 5, new string('x', 100000), self, null);
            }
            context.Logger.LogWarning("nulls {a}", null);
            LambdaLogger.Log(LogLevel.Error, (string)null, (object[])null);
            return templates.Length;
        }

        public Dictionary<string, object> Count(ILambdaContext context)
        {
            _invocations++;
            return new Dictionary<string, object>
            {
                { "count", _invocations },
                { "constructed", _constructed },
                { "stream", context.LogStreamName },
            };
        }

        public string Throw(Dictionary<string, string> input)
        {
            try
            {
                throw new ArgumentException("the inner problem");
            }
            catch (ArgumentException e)
            {
                throw new InvalidOperationException("boom: " + input["why"], e);
            }
        }

        public async Task<string> ThrowAsync(string input)
        {
            await Task.Delay(1);
            throw new NotSupportedException("async " + input);
        }

        public async Task<Greeting> GreetAsync(Person person, ILambdaContext context)
        {
            await Task.Delay(10);
            return new Greeting { Message = "async hello " + person.Name };
        }

        public void Nothing(string input)
        {
            Console.WriteLine("nothing to return for " + input);
        }

        public string Sleep(int seconds, ILambdaContext context)
        {
            Console.WriteLine("sleeping " + context.AwsRequestId);
            Thread.Sleep(seconds * 1000);
            return "awake";
        }

        public void Exit(ILambdaContext context)
        {
            Console.WriteLine("exiting");
            Environment.Exit(3);
        }

        public static string Static(string input)
        {
            return "static " + input;
        }
    }

    public class NoDefaultConstructor
    {
        public NoDefaultConstructor(int x)
        {
        }

        public string Handle(string input)
        {
            return input;
        }
    }
}
