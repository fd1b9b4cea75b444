using System.Reflection;
using System.Text;
using Offload.Kernel.Netlink;

namespace Offload.Kernel.Tests.PublicApi;

/// <summary>
/// The public API of Offload.Kernel is tracked in <c>Offload.Kernel.api.txt</c>; a change shows up as a diff in review.
/// Accept a change by running the tests with <c>OFFLOAD_ACCEPT_API=1</c> and committing the file.
/// </summary>
public sealed class KernelPublicApiTests
{
    [Fact]
    public void OffloadKernel_PublicApi_MatchesSnapshot()
    {
        string actual = Describe(typeof(NetlinkSocket).Assembly);
        string path = Path.Combine(RepositoryRoot(), "tests", "Offload.Kernel.Tests", "PublicApi", "Offload.Kernel.api.txt");
        if (Environment.GetEnvironmentVariable("OFFLOAD_ACCEPT_API") == "1")
            File.WriteAllText(path, actual);

        File.Exists(path).Should().BeTrue("the snapshot {0} exists (create it with OFFLOAD_ACCEPT_API=1)", path);
        actual.Should().Be(File.ReadAllText(path).ReplaceLineEndings("\n"), "the public API changed: review, then accept with OFFLOAD_ACCEPT_API=1");
    }

    private static string Describe(Assembly assembly)
    {
        const BindingFlags All = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var sb = new StringBuilder();
        foreach (Type type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            sb.Append(type.IsEnum ? "enum " : type.IsValueType ? "struct " : type.IsInterface ? "interface " : "class ")
              .Append(type.FullName);
            if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum))
                sb.Append(" : ").Append(b);
            sb.Append('\n');
            var members = new List<string>();
            foreach (MemberInfo m in type.GetMembers(All))
            {
                if (m is MethodInfo { IsSpecialName: true } || m is Type)
                    continue;
                string text = m switch
                {
                    PropertyInfo p => $"property {p.PropertyType} {p.Name}{(p.SetMethod?.IsPublic == true ? " { get; set; }" : " { get; }")}",
                    FieldInfo f => $"field {(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{f.FieldType} {f.Name}",
                    MethodBase mb => $"{(mb.IsStatic ? "static " : "")}{mb}",
                    _ => m.ToString()!,
                };
                members.Add("  " + text);
            }
            members.Sort(StringComparer.Ordinal);
            foreach (string m in members)
                sb.Append(m).Append('\n');
        }
        return sb.ToString();
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Offload.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Offload.sln not found above " + AppContext.BaseDirectory);
    }
}
