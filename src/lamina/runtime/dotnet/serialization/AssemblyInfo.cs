using System.Reflection;

[assembly: AssemblyTitle("Amazon.Lambda.Serialization.SystemTextJson (Lamina)")]
[assembly: AssemblyDescription("Lamina's JSON serializers with the names and options of AWS's Amazon.Lambda.Serialization.SystemTextJson")]
[assembly: AssemblyVersion("1.0.0.0")]
