using System.Reflection;
using System.Runtime.CompilerServices;

// AWS's Amazon.Lambda.Core keeps its assembly version at 1.0.0.0 across package releases.
[assembly: AssemblyTitle("Amazon.Lambda.Core (Lamina)")]
[assembly: AssemblyDescription("Lamina's implementation of the public API of AWS's Amazon.Lambda.Core")]
[assembly: AssemblyVersion("1.0.0.0")]
[assembly: InternalsVisibleTo("Lamina.Runtime")]
