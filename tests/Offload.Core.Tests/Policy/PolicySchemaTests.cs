using Offload.Classification;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Offload.Policy;
using YamlDotNet.RepresentationModel;
using static Offload.Tests.Policy.PolicyExamples;

namespace Offload.Tests.Policy;

public class PolicySchemaTests
{
    private static readonly JsonDocument Schema = JsonDocument.Parse(PolicySchema.Json);

    // JsonSchema.Net registers a schema's $id globally, so the schema is built once.
    private static readonly JsonSchema Compiled = JsonSchema.FromText(PolicySchema.Json);

    private static JsonElement Shape(string shape) =>
        shape == PolicyShapes.Root ? Schema.RootElement : Schema.RootElement.GetProperty("$defs").GetProperty(shape);

    [Fact]
    public void Json_IsDraft202012()
    {
        Schema.RootElement.GetProperty("$schema").GetString().Should().Be("https://json-schema.org/draft/2020-12/schema");
    }

    [Fact]
    public void Json_KeysOfEveryShape_MatchTheLoadersKeys()
    {
        var defs = Schema.RootElement.GetProperty("$defs").EnumerateObject().Select(p => p.Name).ToHashSet();
        defs.Should().BeEquivalentTo(PolicyShapes.All.Keys.Where(k => k != PolicyShapes.Root), "one schema definition per object shape");
        foreach (var (shape, keys) in PolicyShapes.All)
        {
            var element = Shape(shape);
            element.GetProperty("properties").EnumerateObject().Select(p => p.Name)
                .Should().BeEquivalentTo(keys.Select(k => k.Name), $"schema and loader agree on the keys of '{shape}'");
            var required = element.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(x => x.GetString()!).ToArray() : [];
            required.Should().BeEquivalentTo(keys.Where(k => k.Required).Select(k => k.Name), $"schema and loader agree on what '{shape}' requires");
            element.GetProperty("additionalProperties").GetBoolean().Should().BeFalse($"'{shape}' rejects unknown keys");
            foreach (var k in keys.Where(k => k.Shape is not null))
                element.GetProperty("properties").GetProperty(k.Name).GetRawText().Should().Contain($"#/$defs/{k.Shape}");
        }
    }

    [Fact]
    public void Json_EnumsMatchTheLoadersWords()
    {
        Enum("acl", "mode").Should().BeEquivalentTo(PolicyNames.AclModes.Keys);
        Enum("aclRule", "action").Should().BeEquivalentTo(PolicyNames.Actions.Keys);
        Enum("aclRule", "direction").Should().BeEquivalentTo(PolicyNames.Directions.Keys);
        Enum("loadBalancer", "algorithm").Should().BeEquivalentTo(PolicyNames.Algorithms.Keys);
        Enum("network", "tunnel").Should().BeEquivalentTo(PolicyNames.Tunnels.Keys);
        Enum("offload", "when").Should().BeEquivalentTo(PolicyNames.Triggers.Keys);
    }

    private static IEnumerable<string> Enum(string shape, string key) =>
        Shape(shape).GetProperty("properties").GetProperty(key).GetProperty("enum").EnumerateArray().Select(e => e.GetString()!);

    [Fact]
    public void Json_EveryPropertyHasADescription()
    {
        foreach (var (shape, keys) in PolicyShapes.All)
        {
            foreach (var k in keys.Where(k => k.Shape is null))
                Shape(shape).GetProperty("properties").GetProperty(k.Name).TryGetProperty("description", out _)
                    .Should().BeTrue($"{shape}.{k.Name} is described for editors");
        }
    }

    [Fact]
    public void Json_SchemaValidatesTheSpecExample()
    {
        var result = Compiled.Evaluate(YamlToJson(Spec), new EvaluationOptions { OutputFormat = OutputFormat.List });


        result.IsValid.Should().BeTrue(JsonSerializer.Serialize(result));
    }

    [Theory]
    [InlineData("offload: { when: established, minPackets: 0 }", "offload: { when: established, colour: red }")]
    [InlineData("tunnel: gre", "tunnel: geneve")]
    [InlineData("mac: \"02:00:00:01:00:03\"", "mac: \"02:00:00:01:00\"")]
    [InlineData("dstPorts: \"22\"", "dstPorts: \"22-\"")]
    [InlineData("vni: 200", "vni: 16777216")]
    public void Json_SchemaRejectsWhatTheLoaderRejects(string find, string replace)
    {
        string yaml = SpecWith(find, replace);
        PolicyLoader.Load(yaml).Success.Should().BeFalse();

        Compiled.Evaluate(YamlToJson(yaml)).IsValid.Should().BeFalse();
    }

    [Fact]
    public void Json_IsCopiedNextToTheAssembly()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "policy.schema.json");

        File.ReadAllText(path).Should().Be(PolicySchema.Json);
    }

    // Plain scalars that read as integers or numbers become JSON numbers, as an editor's YAML language server does.
    private static JsonElement YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return JsonSerializer.SerializeToElement(Convert(stream.Documents[0].RootNode));
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode m => new JsonObject(m.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, Convert(c.Value)))),
        YamlSequenceNode s => new JsonArray(s.Children.Select(Convert).ToArray()),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } p when long.TryParse(p.Value, out long l) => JsonValue.Create(l),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } p when double.TryParse(p.Value, System.Globalization.CultureInfo.InvariantCulture, out double d) => JsonValue.Create(d),
        YamlScalarNode p => JsonValue.Create(p.Value),
        _ => null,
    };
}
