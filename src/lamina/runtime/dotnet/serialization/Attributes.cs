// The two System.Text.Json attributes that Lambda functions use most, so that code written for
// AWS compiles on Mono (which has no System.Text.Json). Lamina's serializers honour them.

using System;

namespace System.Text.Json.Serialization
{
    /// <summary>The JSON name of a property.</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, AllowMultiple = false)]
    public sealed class JsonPropertyNameAttribute : Attribute
    {
        public JsonPropertyNameAttribute(string name)
        {
            Name = name;
        }

        public string Name { get; private set; }
    }

    public enum JsonIgnoreCondition
    {
        Never = 0,
        Always = 1,
        WhenWritingDefault = 2,
        WhenWritingNull = 3,
    }

    /// <summary>Leaves a property out of the JSON (always, or under <see cref="Condition"/>).</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, AllowMultiple = false)]
    public sealed class JsonIgnoreAttribute : Attribute
    {
        public JsonIgnoreAttribute()
        {
            Condition = JsonIgnoreCondition.Always;
        }

        public JsonIgnoreCondition Condition { get; set; }
    }
}
