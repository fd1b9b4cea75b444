using System.Text;
using System.Text.Json;

namespace Offload.Benchmarks.Quick;

/// <summary>One benchmark id's figures: subject and baseline from the same run, their ratio, the goal and whether it is met.</summary>
internal sealed record QuickResult(string Id, double Subject, double Baseline, string Unit, double Ratio, object Goal, bool? Met, string? Note = null)
{
    public static string ToJson(IReadOnlyList<QuickResult> results)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            foreach (var r in results)
            {
                w.WriteStartObject(r.Id);
                w.WriteNumber("subject", Round(r.Subject));
                w.WriteNumber("baseline", Round(r.Baseline));
                w.WriteString("unit", r.Unit);
                w.WriteNumber("ratio", Round(r.Ratio));
                if (r.Goal is double g)
                    w.WriteNumber("goal", g);
                else
                    w.WriteString("goal", r.Goal.ToString());
                if (r.Met is bool met)
                    w.WriteBoolean("met", met);
                else
                    w.WriteNull("met");
                if (r.Note is not null)
                    w.WriteString("note", r.Note);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static double Round(double v) => double.IsFinite(v) ? Math.Round(v, v >= 100 ? 1 : 4) : 0;
}
