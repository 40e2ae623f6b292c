// Lamina's Amazon.Lambda.Core: the context types a handler receives, with the names and shapes of
// AWS's Amazon.Lambda.Core package so that a function written against AWS's documentation compiles.

using System;
using System.Collections.Generic;

namespace Amazon.Lambda.Core
{
    /// <summary>What a handler can learn about its invocation and its execution environment.</summary>
    public interface ILambdaContext
    {
        /// <summary>The request id of this invocation (the one the caller of Invoke sees).</summary>
        string AwsRequestId { get; }

        /// <summary>The client context sent by a mobile SDK (empty when none was sent).</summary>
        IClientContext ClientContext { get; }

        /// <summary>The function's name.</summary>
        string FunctionName { get; }

        /// <summary>The version being run ($LATEST, or a published version number).</summary>
        string FunctionVersion { get; }

        /// <summary>The Cognito identity of a mobile SDK caller (empty when none was sent).</summary>
        ICognitoIdentity Identity { get; }

        /// <summary>The ARN the function was invoked with (with its qualifier, if any).</summary>
        string InvokedFunctionArn { get; }

        /// <summary>A logger that writes to the function's log.</summary>
        ILambdaLogger Logger { get; }

        /// <summary>The log group of the function.</summary>
        string LogGroupName { get; }

        /// <summary>The log stream of this execution environment.</summary>
        string LogStreamName { get; }

        /// <summary>The memory configured for the function, in MB.</summary>
        int MemoryLimitInMB { get; }

        /// <summary>The time left before the invocation times out.</summary>
        TimeSpan RemainingTime { get; }
    }

    /// <summary>The client application that called the function through a mobile SDK.</summary>
    public interface IClientApplication
    {
        string AppPackageName { get; }
        string AppTitle { get; }
        string AppVersionCode { get; }
        string AppVersionName { get; }
        string InstallationId { get; }
    }

    /// <summary>The client context of an invocation from a mobile SDK.</summary>
    public interface IClientContext
    {
        IDictionary<string, string> Environment { get; }
        IClientApplication Client { get; }
        IDictionary<string, string> Custom { get; }
    }

    /// <summary>The Amazon Cognito identity of the caller.</summary>
    public interface ICognitoIdentity
    {
        string IdentityId { get; }
        string IdentityPoolId { get; }
    }
}
