using System;
using System.Collections.Generic;
using System.Globalization;
using Amazon.Lambda.Core;
using Lamina.Json;

namespace Lamina.Runtime
{
    /// <summary>What does not change between invocations: read once from the environment.</summary>
    internal sealed class FunctionEnvironment
    {
        public string FunctionName;
        public string FunctionVersion;
        public string LogGroupName;
        public string LogStreamName;
        public int MemoryLimitInMB;

        public static FunctionEnvironment Read()
        {
            int memory;
            int.TryParse(Environment.GetEnvironmentVariable("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), NumberStyles.Integer, CultureInfo.InvariantCulture, out memory);
            return new FunctionEnvironment
            {
                FunctionName = Environment.GetEnvironmentVariable("AWS_LAMBDA_FUNCTION_NAME"),
                FunctionVersion = Environment.GetEnvironmentVariable("AWS_LAMBDA_FUNCTION_VERSION"),
                LogGroupName = Environment.GetEnvironmentVariable("AWS_LAMBDA_LOG_GROUP_NAME"),
                LogStreamName = Environment.GetEnvironmentVariable("AWS_LAMBDA_LOG_STREAM_NAME"),
                MemoryLimitInMB = memory,
            };
        }
    }

    internal sealed class LambdaContext : ILambdaContext
    {
        private static readonly DateTime Epoch = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        private readonly FunctionEnvironment _environment;
        private readonly long _deadlineMs;
        private readonly string _clientContextJson;
        private readonly string _cognitoIdentityJson;
        private CognitoClientContext _clientContext;
        private CognitoIdentity _identity;

        public LambdaContext(Invocation invocation, FunctionEnvironment environment, ILambdaLogger logger)
        {
            HttpResponse r = invocation.Response;
            _environment = environment;
            AwsRequestId = invocation.RequestId;
            InvokedFunctionArn = r.Header(RuntimeApiClient.HeaderFunctionArn);
            TraceId = r.Header(RuntimeApiClient.HeaderTraceId);
            long.TryParse(r.Header(RuntimeApiClient.HeaderDeadlineMs), NumberStyles.Integer, CultureInfo.InvariantCulture, out _deadlineMs);
            _clientContextJson = r.Header(RuntimeApiClient.HeaderClientContext);
            _cognitoIdentityJson = r.Header(RuntimeApiClient.HeaderCognitoIdentity);
            Logger = logger;
        }

        public string AwsRequestId { get; private set; }
        public string InvokedFunctionArn { get; private set; }
        public string TraceId { get; private set; }
        public ILambdaLogger Logger { get; private set; }

        public string FunctionName { get { return _environment.FunctionName; } }
        public string FunctionVersion { get { return _environment.FunctionVersion; } }
        public string LogGroupName { get { return _environment.LogGroupName; } }
        public string LogStreamName { get { return _environment.LogStreamName; } }
        public int MemoryLimitInMB { get { return _environment.MemoryLimitInMB; } }

        public TimeSpan RemainingTime
        {
            get { return TimeSpan.FromMilliseconds(_deadlineMs - (DateTime.UtcNow - Epoch).TotalMilliseconds); }
        }

        // Parsed on first use, as AWS's runtime does: most functions never look.
        public IClientContext ClientContext
        {
            get { return _clientContext ?? (_clientContext = CognitoClientContext.FromJson(_clientContextJson)); }
        }

        public ICognitoIdentity Identity
        {
            get { return _identity ?? (_identity = CognitoIdentity.FromJson(_cognitoIdentityJson)); }
        }
    }

    internal sealed class CognitoIdentity : ICognitoIdentity
    {
        public string IdentityId { get; private set; }
        public string IdentityPoolId { get; private set; }

        public static CognitoIdentity FromJson(string json)
        {
            var result = new CognitoIdentity();
            JsonObject obj = string.IsNullOrWhiteSpace(json) ? null : JsonParser.Parse(json) as JsonObject;
            if (obj != null)
            {
                result.IdentityId = Member(obj, "cognitoIdentityId") as string;
                result.IdentityPoolId = Member(obj, "cognitoIdentityPoolId") as string;
            }
            return result;
        }

        internal static object Member(JsonObject obj, string name)
        {
            foreach (KeyValuePair<string, object> pair in obj)
            {
                if (pair.Key == name)
                {
                    return pair.Value;
                }
            }
            return null;
        }
    }

    internal sealed class CognitoClientApplication : IClientApplication
    {
        public string AppPackageName { get; set; }
        public string AppTitle { get; set; }
        public string AppVersionCode { get; set; }
        public string AppVersionName { get; set; }
        public string InstallationId { get; set; }
    }

    internal sealed class CognitoClientContext : IClientContext
    {
        public IDictionary<string, string> Environment { get; private set; }
        public IClientApplication Client { get; private set; }
        public IDictionary<string, string> Custom { get; private set; }

        public static CognitoClientContext FromJson(string json)
        {
            var result = new CognitoClientContext();
            JsonObject obj = string.IsNullOrWhiteSpace(json) ? null : JsonParser.Parse(json) as JsonObject;
            if (obj == null)
            {
                return result;
            }
            var client = CognitoIdentity.Member(obj, "client") as JsonObject;
            if (client != null)
            {
                result.Client = new CognitoClientApplication
                {
                    AppPackageName = CognitoIdentity.Member(client, "app_package_name") as string,
                    AppTitle = CognitoIdentity.Member(client, "app_title") as string,
                    AppVersionCode = CognitoIdentity.Member(client, "app_version_code") as string,
                    AppVersionName = CognitoIdentity.Member(client, "app_version_name") as string,
                    InstallationId = CognitoIdentity.Member(client, "installation_id") as string,
                };
            }
            result.Custom = Strings(CognitoIdentity.Member(obj, "custom") as JsonObject);
            result.Environment = Strings(CognitoIdentity.Member(obj, "env") as JsonObject);
            return result;
        }

        private static IDictionary<string, string> Strings(JsonObject obj)
        {
            if (obj == null)
            {
                return null;
            }
            var result = new Dictionary<string, string>();
            foreach (KeyValuePair<string, object> pair in obj)
            {
                result[pair.Key] = pair.Value == null ? null : pair.Value.ToString();
            }
            return result;
        }
    }
}
