using CsCheck;
using Offload.Policy;

using Offload.Packets;

namespace Offload.Tests.Policy;

public class PortSetTests
{
    [Theory]
    [InlineData("22", "22")]
    [InlineData("443,80", "80,443")]
    [InlineData("1000-2000,3000", "1000-2000,3000")]
    [InlineData("10-20, 15-30 ,31", "10-31")]
    [InlineData("0-65535", "0-65535")]
    public void Parse_Valid_IsCanonical(string text, string canonical) =>
        PortSet.Parse(text).ToString().Should().Be(canonical);

    [Theory]
    [InlineData("70000", "port 70000 is out of range")]
    [InlineData("20-10", "range '20-10' is inverted")]
    [InlineData("", "empty value")]
    [InlineData(" ", "empty value")]
    [InlineData("80,", "empty item")]
    [InlineData("1-2-3", "is not a port number")]
    [InlineData("-5", "is not a port number")]
    [InlineData("ssh", "'ssh' is not a port number")]
    public void TryParse_Invalid_SaysWhy(string text, string reason)
    {
        PortSet.TryParse(text, out var set, out string? error).Should().BeFalse();
        set.Should().BeNull();
        error.Should().Contain(reason);
    }

    [Fact]
    public void Contains_AgreesWithBitmapModel() =>
        Gen.Select(Gen.Select(Gen.Int[0, 65535], Gen.Int[0, 300]).Array[1, 8], Gen.UShort.Array[20]).Sample((ranges, probes) =>
        {
            var model = new bool[65536];
            var list = new List<PortRange>();
            foreach (var (first, span) in ranges)
            {
                int last = Math.Min(65535, first + span);
                list.Add(new PortRange((ushort)first, (ushort)last));
                for (int p = first; p <= last; p++)
                    model[p] = true;
            }
            var set = PortSet.FromRanges(list);
            foreach (var r in list)
            {
                foreach (int p in new[] { r.Lo - 1, r.Lo, r.Hi, r.Hi + 1 })
                {
                    if (p is >= 0 and <= 65535)
                        set.Contains((ushort)p).Should().Be(model[p], $"port {p} in {set}");
                }
            }
            foreach (ushort p in probes)
                set.Contains(p).Should().Be(model[p]);
            for (int i = 1; i < set.Ranges.Length; i++)
                set.Ranges[i].Lo.Should().BeGreaterThan((ushort)(set.Ranges[i - 1].Hi + 1), "ranges are merged");
            PortSet.Parse(set.ToString()).Should().Be(set);
        });

    [Fact]
    public void Intersects_AgreesWithBitmapModel() =>
        Gen.Select(Gen.Select(Gen.Int[0, 200], Gen.Int[0, 20]).Array[1, 4], Gen.Select(Gen.Int[0, 200], Gen.Int[0, 20]).Array[1, 4]).Sample((a, b) =>
        {
            static PortSet Build((int, int)[] ranges) => PortSet.FromRanges(ranges.Select(r => new PortRange((ushort)r.Item1, (ushort)(r.Item1 + r.Item2))));
            var x = Build(a);
            var y = Build(b);
            bool brute = false;
            for (int p = 0; p <= 220 && !brute; p++)
                brute = x.Contains((ushort)p) && y.Contains((ushort)p);
            x.Intersects(y).Should().Be(brute, $"{x} vs {y}");
            y.Intersects(x).Should().Be(brute);
        });

    [Fact]
    public void All_ContainsEveryPort()
    {
        PortSet.All.Contains(0).Should().BeTrue();
        PortSet.All.Contains(65535).Should().BeTrue();
        PortSet.All.ToString().Should().Be("0-65535");
    }
}
