using System.Reflection;
using System.Text;

namespace Offload.Tests.PublicApi;

/// <summary>
/// The public API of Offload.Core is tracked: any change to it shows up as a diff of
/// <c>Offload.Core.api.txt</c> in review. To accept a change, run the tests with
/// <c>OFFLOAD_ACCEPT_API=1</c> and commit the updated file.
/// </summary>
public class PublicApiTests
{
    [Fact]
    public void OffloadCore_PublicApi_MatchesSnapshot()
    {
        var assembly = typeof(Offload.Flows.FlowKey).Assembly;
        string actual = Describe(assembly);
        string path = Path.Combine(RepositoryRoot(), "tests", "Offload.Core.Tests", "PublicApi", "Offload.Core.api.txt");
        if (Environment.GetEnvironmentVariable("OFFLOAD_ACCEPT_API") == "1")
            File.WriteAllText(path, actual);
        File.Exists(path).Should().BeTrue($"the API snapshot {path} exists (create it with OFFLOAD_ACCEPT_API=1)");
        string expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        actual.Should().Be(expected, "the public API changed: review it, then accept with OFFLOAD_ACCEPT_API=1");
    }

    internal static string Describe(Assembly assembly)
    {
        var sb = new StringBuilder();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            sb.Append(Kind(type)).Append(' ').Append(type.FullName);
            var bases = new List<string>();
            if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum))
                bases.Add(b.ToString());
            bases.AddRange(type.GetInterfaces().Select(i => i.ToString()).OrderBy(s => s, StringComparer.Ordinal));
            if (bases.Count > 0)
                sb.Append(" : ").Append(string.Join(", ", bases));
            sb.Append('\n');
            const BindingFlags flags = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            var members = type.GetMembers(flags)
                .Where(IsVisible)
                .Select(m => "  " + Describe(m))
                .OrderBy(s => s, StringComparer.Ordinal);
            foreach (var m in members)
                sb.Append(m).Append('\n');
        }
        return sb.ToString();
    }

    private static string Kind(Type t) =>
        t.IsEnum ? "enum" : t.IsInterface ? "interface" : t.IsValueType ? (t.IsByRefLike ? "ref struct" : "struct")
        : t.IsAbstract && t.IsSealed ? "static class" : t.IsAbstract ? "abstract class" : t.IsSealed ? "sealed class" : "class";

    private static bool IsVisible(MemberInfo m) => m switch
    {
        MethodBase mb => (mb.IsPublic || mb.IsFamily || mb.IsFamilyOrAssembly) && !(mb.IsSpecialName && (mb.Name.StartsWith("get_", StringComparison.Ordinal) || mb.Name.StartsWith("set_", StringComparison.Ordinal) || mb.Name.StartsWith("add_", StringComparison.Ordinal) || mb.Name.StartsWith("remove_", StringComparison.Ordinal))),
        FieldInfo f => (f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly) && !f.IsSpecialName,
        PropertyInfo p => p.GetAccessors(nonPublic: true).Any(a => a.IsPublic || a.IsFamily || a.IsFamilyOrAssembly),
        EventInfo e => e.AddMethod is { } add && (add.IsPublic || add.IsFamily),
        Type nested => nested.IsNestedPublic || nested.IsNestedFamily,
        _ => false,
    };

    private static string Describe(MemberInfo m) => m switch
    {
        PropertyInfo p => $"property {p.PropertyType} {p.Name} {{ {string.Join(" ", p.GetAccessors(true).Where(a => a.IsPublic || a.IsFamily).Select(a => a.Name.StartsWith("get_", StringComparison.Ordinal) ? "get;" : IsInit(a) ? "init;" : "set;").OrderBy(s => s, StringComparer.Ordinal))} }}",
        FieldInfo f => $"field {(f.IsStatic ? "static " : "")}{(f.IsInitOnly ? "readonly " : "")}{(f.IsLiteral ? "const " : "")}{f.FieldType} {f.Name}",
        EventInfo e => $"event {e.EventHandlerType} {e.Name}",
        Type t => $"nested {Kind(t)} {t.Name}",
        MethodBase mb => $"{(mb.IsStatic ? "static " : "")}{(mb.IsAbstract ? "abstract " : mb.IsVirtual && !mb.IsFinal ? "virtual " : "")}{mb}",
        _ => m.ToString()!,
    };

    private static bool IsInit(MethodInfo setter) =>
        setter.ReturnParameter.GetRequiredCustomModifiers().Any(t => t.FullName == "System.Runtime.CompilerServices.IsExternalInit");

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Offload.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Offload.sln not found above " + AppContext.BaseDirectory);
    }
}
