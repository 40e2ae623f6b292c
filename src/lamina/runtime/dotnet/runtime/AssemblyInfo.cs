using System.Reflection;

[assembly: AssemblyTitle("Lamina.Runtime")]
[assembly: AssemblyDescription("Lamina's .NET runtime: runs a Lambda function's handler against the Lambda Runtime API")]
[assembly: AssemblyVersion("1.0.0.0")]
