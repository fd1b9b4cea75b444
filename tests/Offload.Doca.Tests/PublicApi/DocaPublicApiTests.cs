using System.Reflection;
using System.Text;
using Offload.Doca.Tests.Emulator;

namespace Offload.Doca.Tests.PublicApi;

/// <summary>
/// The public API of Offload.Doca is tracked in <c>Offload.Doca.api.txt</c>; accept a change by running
/// the tests with <c>OFFLOAD_ACCEPT_API=1</c> and committing the file.
/// </summary>
public sealed class DocaPublicApiTests
{
    [Fact]
    public void OffloadDoca_PublicApi_MatchesSnapshot()
    {
        string actual = Describe(typeof(DocaLibrary).Assembly);
        string path = Path.Combine(NativeBuild.RepositoryRoot(), "tests", "Offload.Doca.Tests", "PublicApi", "Offload.Doca.api.txt");
        if (Environment.GetEnvironmentVariable("OFFLOAD_ACCEPT_API") == "1")
            File.WriteAllText(path, actual);

        File.Exists(path).Should().BeTrue("the snapshot {0} exists (create it with OFFLOAD_ACCEPT_API=1)", path);
        actual.Should().Be(File.ReadAllText(path).ReplaceLineEndings("\n"), "the public API changed: review, then accept with OFFLOAD_ACCEPT_API=1");
    }

    [Fact]
    public void OffloadDoca_PublicApi_ExposesNoNativePointers()
    {
        string api = Describe(typeof(DocaLibrary).Assembly);

        api.Should().NotContain("IntPtr").And.NotContain("*").And.NotContain("Offload.Doca.Native");
    }

    // One line per type, then its public members sorted; enough to see any change in review.
    private static string Describe(Assembly assembly)
    {
        const BindingFlags Declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var sb = new StringBuilder();
        foreach (Type type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            string kind = type.IsEnum ? "enum" : type.IsInterface ? "interface" : type.IsValueType ? "struct" : "class";
            sb.Append(kind).Append(' ').Append(type.FullName).Append('\n');
            List<string> lines = [];
            foreach (MemberInfo m in type.GetMembers(Declared))
            {
                if (m is Type || m is MethodInfo { IsSpecialName: true })
                    continue;
                lines.Add("  " + m switch
                {
                    PropertyInfo p => $"property {p.PropertyType} {p.Name}",
                    FieldInfo f => $"field {(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{f.FieldType} {f.Name}",
                    MethodBase b => (b.IsStatic ? "static " : "") + b,
                    _ => m.ToString(),
                });
            }
            lines.Sort(StringComparer.Ordinal);
            foreach (string line in lines)
                sb.Append(line).Append('\n');
        }
        return sb.ToString();
    }
}
