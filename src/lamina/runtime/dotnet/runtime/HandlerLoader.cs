// Finding the handler (ASSEMBLY::TYPE::METHOD) and preparing to call it, with the checks, the order
// and the error messages of AWS's .NET runtime (Amazon.Lambda.RuntimeSupport's UserCodeLoader).

using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using Amazon.Lambda.Core;

namespace Lamina.Runtime
{
    internal static class Messages
    {
        public const string EmptyHandler = "Empty lambda function handler. The valid format is 'ASSEMBLY::TYPE::METHOD'.";
        public const string InvalidHandler = "Invalid lambda function handler: '{0}'. The valid format is 'ASSEMBLY::TYPE::METHOD'.";
        public const string MissingAssembly = "Invalid lambda function handler: '{0}', the assembly is missing. The valid format is 'ASSEMBLY::TYPE::METHOD'.";
        public const string MissingType = "Invalid lambda function handler: '{0}', the type is missing. The valid format is 'ASSEMBLY::TYPE::METHOD'.";
        public const string MissingMethod = "Invalid lambda function handler: '{0}', the method is missing. The valid format is 'ASSEMBLY::TYPE::METHOD'.";
        public const string CouldNotFindHandlerAssembly = "Could not find the specified handler assembly with the file name '{0}'. The assembly should be located in the root of your uploaded .zip file.";
        public const string UnableToLoadAssembly = "Unable to load assembly '{0}'.";
        public const string UnableToLoadType = "Unable to load type '{0}' from assembly '{1}'.";
        public const string NoMatchingMethod = "Unable to find method '{0}' in type '{1}' from assembly '{2}': Found no methods matching method name '{3}'.";
        public const string MethodHasOverloads = "The method '{0}' in type '{1}' appears to have a number of overloads. To call this method please specify a complete method signature. Possible candidates are:\n{2}.";
        public const string DeserializeMissingAttribute = "Could not find the LambdaSerializerAttribute on the assembly '{0}' or method '{1}' while attempting to deserialize input data of type '{2}'. To use types other than System.IO.Stream as input/output parameters, the assembly or Lambda function should be annotated with {3}.";
        public const string SerializeMissingAttribute = "Could not find the LambdaSerializerAttribute on the assembly '{0}' or method '{1}' while attempting to serialize output data of type '{2}'. To use types other than System.IO.Stream as input/output parameters, the assembly or Lambda function should be annotated with {3}.";
        public const string MethodTooManyParams = "Method '{0}' of type '{1}' is not supported: the method has more than 2 parameters.";
        public const string MethodSecondParamNotContext = "Method '{0}' of type '{1}' is not supported: the method has 2 parameters, but the second parameter is not of type '{2}'.";
        public const string InvalidClassNoSerializerType = "The '{0}' class is invalid: no 'SerializerType' property detected.";
        public const string InvalidClassSerializerTypeWrongType = "The '{0}' class is invalid: 'SerializerType' property cannot be converted to type '{1}'.";
        public const string SerializerTypeNotSet = "The 'SerializerType' property on attribute class '{0}' is not set.";
        public const string SerializerMissingConstructor = "The indicated serializer '{0}' does not define a public zero-parameter constructor.";
        public const string InvalidClassNoILambdaSerializer = "The '{0}' class is invalid: it does not implement the 'ILambdaSerializer' interface.";
        public const string HandlerTypeGeneric = "The type '{0}' cannot be used as a Lambda Handler type because it is generic. Handler methods cannot be located in generic types. Please specify a handler method in a non-generic type.";
        public const string HandlerTypeAbstract = "The instance method '{0}' cannot be used as a Lambda Handler because its type '{1}' is abstract. Please either use a static handler or specify a type that is not abstract.";
        public const string HandlerNotClassOrStruct = "The type '{0}' cannot be used as a handler type since it is not a class or a struct. Please specify a handler method on a class or struct.";
        public const string HandlerMethodAbstract = "The method '{0}' cannot be used as a Lambda Handler because it is an abstract method. Handler methods cannot be abstract. Please specify a non-abstract handler method.";
        public const string HandlerMethodGeneric = "The method '{0}' cannot be used as a Lambda Handler because it is a generic method. Handler methods cannot be generic. Please specify a non-generic handler method.";
        public const string HandlerMethodAsyncVoid = "The method '{0}' cannot be used as a Lambda Handler because it is an 'async void' method. Handler methods cannot be 'async void'. Please specify a method that is not 'async void'.";
        public const string HandlerMethodParams = "The method '{0}' cannot be used as a Lambda Handler because it is a 'params' method. Please specify a method that does not use 'params'.";
        public const string HandlerMethodVararg = "The method '{0}' cannot be used as a Lambda Handler because it is a 'vararg (variable arguments)' method. Please specify a method that is not 'vararg'.";

        public static LambdaValidationException Invalid(string format, params object[] args)
        {
            return new LambdaValidationException(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
        }
    }

    /// <summary>The three parts of a .NET handler string.</summary>
    internal sealed class HandlerInfo
    {
        public const string Separator = "::";
        public string AssemblyName;
        public string TypeName;
        public string MethodName;

        public static HandlerInfo Parse(string handler)
        {
            if (string.IsNullOrEmpty(handler))
            {
                throw Messages.Invalid(Messages.EmptyHandler);
            }
            string[] parts = handler.Split(new[] { Separator }, 3, StringSplitOptions.None);
            if (parts.Length != 3)
            {
                throw Messages.Invalid(Messages.InvalidHandler, handler);
            }
            var info = new HandlerInfo { AssemblyName = parts[0].Trim(), TypeName = parts[1].Trim(), MethodName = parts[2].Trim() };
            if (info.AssemblyName.Length == 0)
            {
                throw Messages.Invalid(Messages.MissingAssembly, handler);
            }
            if (info.TypeName.Length == 0)
            {
                throw Messages.Invalid(Messages.MissingType, handler);
            }
            if (info.MethodName.Length == 0)
            {
                throw Messages.Invalid(Messages.MissingMethod, handler);
            }
            return info;
        }
    }

    /// <summary>A loaded handler, ready to be called once per invocation.</summary>
    internal sealed class Handler
    {
        private static readonly byte[] Empty = new byte[0];

        public MethodInfo Method;
        public object Target;
        public int Arity;
        public int InputIndex = -1;
        public bool InputIsStream;
        public int ContextIndex = -1;
        public object Serializer;
        public MethodInfo Deserialize;
        public MethodInfo Serialize;
        public bool AwaitTask;
        public PropertyInfo TaskResult;
        public bool HasOutput;
        public bool OutputIsStream;

        /// <summary>
        /// Calls the handler with the payload, returns the response body. What the function throws
        /// comes out as it is, or wrapped in a TargetInvocationException (see ErrorReport.Unwrap).
        /// </summary>
        public byte[] Invoke(byte[] payload, ILambdaContext context)
        {
            var args = new object[Arity];
            if (InputIndex >= 0)
            {
                var input = new MemoryStream(payload);
                args[InputIndex] = InputIsStream ? input : Deserialize.Invoke(Serializer, new object[] { input });
            }
            if (ContextIndex >= 0)
            {
                args[ContextIndex] = context;
            }
            object result = Method.Invoke(Target, args);
            if (AwaitTask)
            {
                var task = (Task)result;
                task.GetAwaiter().GetResult();
                result = TaskResult != null ? TaskResult.GetValue(task, null) : null;
            }
            if (!HasOutput)
            {
                return Empty;
            }
            var output = new MemoryStream();
            if (OutputIsStream)
            {
                using (var stream = (Stream)result)
                {
                    if (stream != null)
                    {
                        stream.CopyTo(output);
                    }
                }
            }
            else
            {
                Serialize.Invoke(Serializer, new[] { result, output });
            }
            return output.ToArray();
        }
    }

    internal static class HandlerLoader
    {
        private const BindingFlags DefaultFlags = BindingFlags.DeclaredOnly | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static;
        private const string CoreAssembly = "Amazon.Lambda.Core";
        private const string ContextTypeName = "Amazon.Lambda.Core.ILambdaContext";
        private const string SerializerInterfaceName = "Amazon.Lambda.Core.ILambdaSerializer";
        private const string SerializerAttributeName = "Amazon.Lambda.Core.LambdaSerializerAttribute";

        /// <summary>Loads the handler named by <paramref name="handlerString"/> from <paramref name="taskRoot"/>.</summary>
        public static Handler Load(string handlerString, string taskRoot, string runtimeDir)
        {
            HandlerInfo info = HandlerInfo.Parse(handlerString);
            InstallResolver(taskRoot, runtimeDir);
            Assembly assembly = LoadAssembly(info, taskRoot);

            Type type;
            try
            {
                type = assembly.GetType(info.TypeName, false);
            }
            catch (Exception e) when (e is TypeLoadException || e is FileNotFoundException || e is BadImageFormatException)
            {
                type = null;
            }
            if (type == null)
            {
                throw Messages.Invalid(Messages.UnableToLoadType, info.TypeName, info.AssemblyName);
            }

            MethodInfo method = FindMethod(type, info) ?? FindMethodBySignature(type, info);
            if (method == null)
            {
                throw Messages.Invalid(Messages.NoMatchingMethod, info.MethodName, info.TypeName, info.AssemblyName, info.MethodName);
            }
            ValidateMethod(method);

            var handler = new Handler { Method = method };
            handler.Target = CreateTarget(type, method);
            handler.Serializer = FindSerializer(assembly, method);
            Bind(handler, info);
            return handler;
        }

        // The handler's assembly and its dependencies come from the task root; Amazon.Lambda.Core is
        // always the runtime's own (whichever copy or version the function was compiled against).
        private static void InstallResolver(string taskRoot, string runtimeDir)
        {
            AppDomain.CurrentDomain.AssemblyResolve += (sender, args) =>
            {
                string name = new AssemblyName(args.Name).Name;
                if (name == CoreAssembly)
                {
                    return typeof(ILambdaContext).Assembly;
                }
                foreach (Assembly loaded in AppDomain.CurrentDomain.GetAssemblies())
                {
                    if (loaded.GetName().Name == name)
                    {
                        return loaded;
                    }
                }
                foreach (string directory in new[] { taskRoot, runtimeDir })
                {
                    foreach (string extension in new[] { ".dll", ".exe" })
                    {
                        string path = Path.Combine(directory, name + extension);
                        if (File.Exists(path))
                        {
                            return Assembly.LoadFrom(path);
                        }
                    }
                }
                return null;
            };
        }

        private static Assembly LoadAssembly(HandlerInfo info, string taskRoot)
        {
            string path = Path.Combine(taskRoot, info.AssemblyName + ".dll");
            if (!File.Exists(path))
            {
                throw Messages.Invalid(Messages.CouldNotFindHandlerAssembly, info.AssemblyName + ", Culture=neutral, PublicKeyToken=null");
            }
            try
            {
                return Assembly.LoadFrom(path);
            }
            catch (Exception)
            {
                throw Messages.Invalid(Messages.UnableToLoadAssembly, info.AssemblyName);
            }
        }

        private static MethodInfo FindMethod(Type type, HandlerInfo info)
        {
            for (Type t = type; t != null; t = t.BaseType)
            {
                try
                {
                    MethodInfo method = t.GetMethod(info.MethodName, DefaultFlags);
                    if (method != null)
                    {
                        return method;
                    }
                }
                catch (AmbiguousMatchException)
                {
                    string candidates = string.Join("\n", t.GetMethods(DefaultFlags)
                        .Where(m => m.Name == info.MethodName || m.ToString() == info.MethodName)
                        .Select(m => m.ToString()));
                    throw Messages.Invalid(Messages.MethodHasOverloads, info.MethodName, t.FullName, candidates);
                }
            }
            return null;
        }

        // A handler may name the method by its full signature: "System.String Handle(System.String)".
        private static MethodInfo FindMethodBySignature(Type type, HandlerInfo info)
        {
            for (Type t = type; t != null; t = t.BaseType)
            {
                MethodInfo[] matches = t.GetMethods(DefaultFlags).Where(m => m.ToString() == info.MethodName).ToArray();
                if (matches.Length > 0)
                {
                    return matches[0];
                }
            }
            return null;
        }

        private static void ValidateMethod(MethodInfo method)
        {
            if (method.IsAbstract)
            {
                throw Messages.Invalid(Messages.HandlerMethodAbstract, method);
            }
            if (method.IsGenericMethod)
            {
                throw Messages.Invalid(Messages.HandlerMethodGeneric, method);
            }
            if (method.ReturnType == typeof(void) && method.GetCustomAttributes(typeof(AsyncStateMachineAttribute), false).Length > 0)
            {
                throw Messages.Invalid(Messages.HandlerMethodAsyncVoid, method);
            }
            ParameterInfo[] parameters = method.GetParameters();
            if (parameters.Length > 0 && parameters[parameters.Length - 1].GetCustomAttributes(typeof(ParamArrayAttribute), false).Length > 0)
            {
                throw Messages.Invalid(Messages.HandlerMethodParams, method);
            }
            if ((method.CallingConvention & CallingConventions.VarArgs) == CallingConventions.VarArgs)
            {
                throw Messages.Invalid(Messages.HandlerMethodVararg, method);
            }
        }

        /// <summary>The object the handler is called on (null for a static method): made during init.</summary>
        private static object CreateTarget(Type type, MethodInfo method)
        {
            if (type.IsGenericType)
            {
                throw Messages.Invalid(Messages.HandlerTypeGeneric, type.FullName);
            }
            if (!method.IsStatic && type.IsAbstract)
            {
                throw Messages.Invalid(Messages.HandlerTypeAbstract, method, type.FullName);
            }
            bool isStruct = type.IsValueType && !type.IsPrimitive && !type.IsEnum;
            if (!type.IsClass && !isStruct)
            {
                throw Messages.Invalid(Messages.HandlerNotClassOrStruct, type.FullName);
            }
            if (method.IsStatic)
            {
                // The static constructor runs now, in the init phase, not in the first invocation.
                RuntimeHelpers.RunClassConstructor(type.TypeHandle);
                return null;
            }
            return Activator.CreateInstance(type);
        }

        private static object FindSerializer(Assembly assembly, MethodInfo method)
        {
            object attribute = method.GetCustomAttributes(true).FirstOrDefault(a => a.GetType().FullName == SerializerAttributeName)
                ?? assembly.GetCustomAttributes(true).FirstOrDefault(a => a.GetType().FullName == SerializerAttributeName);
            if (attribute == null)
            {
                return null;
            }
            Type attributeType = attribute.GetType();
            PropertyInfo property = attributeType.GetProperty("SerializerType");
            if (property == null)
            {
                throw Messages.Invalid(Messages.InvalidClassNoSerializerType, attributeType.FullName);
            }
            if (!typeof(Type).IsAssignableFrom(property.PropertyType))
            {
                throw Messages.Invalid(Messages.InvalidClassSerializerTypeWrongType, attributeType.FullName, typeof(Type).FullName);
            }
            var serializerType = property.GetValue(attribute, null) as Type;
            if (serializerType == null)
            {
                throw Messages.Invalid(Messages.SerializerTypeNotSet, attributeType.FullName);
            }
            ConstructorInfo constructor = serializerType.GetConstructor(Type.EmptyTypes);
            if (constructor == null)
            {
                throw Messages.Invalid(Messages.SerializerMissingConstructor, serializerType.FullName);
            }
            if (serializerType.GetInterface(SerializerInterfaceName) == null)
            {
                throw Messages.Invalid(Messages.InvalidClassNoILambdaSerializer, serializerType.FullName);
            }
            return constructor.Invoke(null);
        }

        /// <summary>Works out how input, context and output travel; fails as AWS does when they cannot.</summary>
        private static void Bind(Handler handler, HandlerInfo info)
        {
            MethodInfo method = handler.Method;
            Type[] parameters = method.GetParameters().Select(p => p.ParameterType).ToArray();
            handler.Arity = parameters.Length;
            if (parameters.Length > 2)
            {
                throw Messages.Invalid(Messages.MethodTooManyParams, method.Name, info.TypeName);
            }
            Type inputType = null;
            if (parameters.Length == 2)
            {
                if (parameters[1].FullName != ContextTypeName)
                {
                    throw Messages.Invalid(Messages.MethodSecondParamNotContext, method.Name, info.TypeName, ContextTypeName);
                }
                handler.ContextIndex = 1;
                inputType = parameters[0];
            }
            else if (parameters.Length == 1)
            {
                if (parameters[0].FullName == ContextTypeName)
                {
                    handler.ContextIndex = 0;
                }
                else
                {
                    inputType = parameters[0];
                }
            }

            Type serializerInterface = handler.Serializer == null ? null : handler.Serializer.GetType().GetInterface(SerializerInterfaceName);
            if (inputType != null)
            {
                handler.InputIndex = 0;
                if (inputType == typeof(Stream))
                {
                    handler.InputIsStream = true;
                }
                else if (handler.Serializer == null)
                {
                    throw Messages.Invalid(Messages.DeserializeMissingAttribute, info.AssemblyName, info.MethodName, inputType.FullName, SerializerAttributeName);
                }
                else
                {
                    handler.Deserialize = serializerInterface.GetMethod("Deserialize").MakeGenericMethod(inputType);
                }
            }

            Type returnType = method.ReturnType;
            Type taskOfT = TaskOfT(returnType);
            bool isTask = typeof(Task).IsAssignableFrom(returnType);
            handler.AwaitTask = isTask;
            if (taskOfT != null)
            {
                handler.TaskResult = taskOfT.GetProperty("Result");
            }
            handler.HasOutput = (returnType != typeof(void) && !isTask) || taskOfT != null;
            if (handler.HasOutput)
            {
                Type outputType = taskOfT != null ? taskOfT.GetGenericArguments()[0] : returnType;
                if (typeof(Stream).IsAssignableFrom(outputType))
                {
                    handler.OutputIsStream = true;
                }
                else if (handler.Serializer == null)
                {
                    throw Messages.Invalid(Messages.SerializeMissingAttribute, info.AssemblyName, info.MethodName, outputType.FullName, SerializerAttributeName);
                }
                else
                {
                    handler.Serialize = serializerInterface.GetMethod("Serialize").MakeGenericMethod(outputType);
                }
            }
        }

        private static Type TaskOfT(Type type)
        {
            for (Type t = type; t != null; t = t.BaseType)
            {
                if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Task<>))
                {
                    return t;
                }
            }
            return null;
        }
    }
}
