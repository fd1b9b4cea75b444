using Offload.Flows;
using Offload.LoadBalancing;
using Offload.Packets;

namespace Offload.Tests.LoadBalancing;

public class BackendSelectorTests
{
    internal static FlowKey Key(int i) => new(
        NetAddress.FromV4(0x0A01_0000u + (uint)(i * 7919 % 65000)), (ushort)(1024 + i % 60000),
        NetAddress.Parse("10.1.255.10"), 80, IpProtocol.Tcp, 1, 100);

    private static string[] Names(int n) => Enumerable.Range(0, n).Select(i => $"10.1.0.{i}:8080").ToArray();

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(10)]
    [InlineData(25)]
    [InlineData(50)]
    public void Maglev_Table_GivesEachBackendAboutOneNth(int n)
    {
        var m = new MaglevSelector(Names(n));
        var owned = new int[n];
        foreach (int b in m.Table)
            owned[b]++;
        double ideal = (double)m.TableSize / n;
        foreach (int count in owned)
            Math.Abs(count - ideal).Should().BeLessThan(ideal * 0.03, "each of {0} backends owns ≈ M/N slots", n);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(20)]
    public void Maglev_RemoveOneBackend_RemapsAboutOneNthOfKeys(int n)
    {
        var names = Names(n);
        var before = new MaglevSelector(names);
        var removed = names.Where((_, i) => i != n / 2).ToArray();
        var after = new MaglevSelector(removed);
        int moved = 0, total = 20_000, movedNotFromRemoved = 0;
        for (int i = 0; i < total; i++)
        {
            var k = Key(i);
            string a = names[before.Select(k, default)], b = removed[after.Select(k, default)];
            if (a != b)
            {
                moved++;
                if (a != names[n / 2])
                    movedNotFromRemoved++;
            }
        }
        ((double)moved / total).Should().BeApproximately(1.0 / n, 0.35 / n);
        // The paper allows a little extra churn; nearly all moves are the removed backend's keys.
        ((double)movedNotFromRemoved / total).Should().BeLessThan(0.02);
    }

    [Fact]
    public void Maglev_AddOneBackend_RemapsAboutOneOverNPlusOne()
    {
        const int n = 10;
        var names = Names(n);
        var added = Names(n + 1);
        var before = new MaglevSelector(names);
        var after = new MaglevSelector(added);
        int moved = 0, total = 20_000;
        for (int i = 0; i < total; i++)
        {
            var k = Key(i);
            if (names[before.Select(k, default)] != added[after.Select(k, default)])
                moved++;
        }
        ((double)moved / total).Should().BeApproximately(1.0 / (n + 1), 0.35 / (n + 1));
    }

    [Fact]
    public void Maglev_SameInputs_SameTableAndChoices()
    {
        var a = new MaglevSelector(Names(9), tableSize: 251);
        var b = new MaglevSelector(Names(9), tableSize: 251);
        a.Table.ToArray().Should().Equal(b.Table.ToArray());
        for (int i = 0; i < 100; i++)
            a.Select(Key(i), default).Should().Be(b.Select(Key(i), default));
    }

    [Fact]
    public void Maglev_Weights_ShareProportional()
    {
        var m = new MaglevSelector(Names(3), [1, 2, 1], tableSize: 10007);
        var owned = new int[3];
        foreach (int b in m.Table)
            owned[b]++;
        ((double)owned[1] / m.TableSize).Should().BeApproximately(0.5, 0.02);
        ((double)owned[0] / m.TableSize).Should().BeApproximately(0.25, 0.02);
    }

    [Fact]
    public void Maglev_UnusableBackend_NeverChosen()
    {
        var m = new MaglevSelector(Names(4));
        int[] counts = [0, -1, 0, 0];
        for (int i = 0; i < 2000; i++)
            m.Select(Key(i), counts).Should().NotBe(1);
        m.Select(Key(1), [-1, -1, -1, -1]).Should().Be(-1);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(65536)]
    public void Maglev_NonPrimeTableSize_Throws(int size)
    {
        var act = () => new MaglevSelector(Names(2), tableSize: size);
        act.Should().Throw<ArgumentException>().WithMessage("*prime*");
    }

    [Fact]
    public void LeastConnections_PicksTheMinimum()
    {
        var s = new LeastConnectionsSelector(4);
        for (int i = 0; i < 50; i++)
            s.Select(Key(i), [5, 3, 9, 4]).Should().Be(1);
        s.Select(Key(0), [5, -1, 9, 4]).Should().Be(3);
    }

    [Fact]
    public void LeastConnections_Ties_DeterministicAndSpread()
    {
        var s = new LeastConnectionsSelector(4);
        var chosen = new HashSet<int>();
        for (int i = 0; i < 200; i++)
        {
            int b = s.Select(Key(i), [2, 7, 2, 2]);
            b.Should().BeOneOf(0, 2, 3);
            s.Select(Key(i), [2, 7, 2, 2]).Should().Be(b);
            chosen.Add(b);
        }
        chosen.Should().HaveCount(3);
    }

    [Fact]
    public void Random_FixedSeed_IsUniformIsh()
    {
        var s = new RandomSelector(5, new Random(1234));
        var hits = new int[5];
        for (int i = 0; i < 50_000; i++)
            hits[s.Select(Key(i), default)]++;
        foreach (int h in hits)
            h.Should().BeInRange(9_400, 10_600);
    }

    [Fact]
    public void Random_SkipsUnusable()
    {
        var s = new RandomSelector(3, new Random(5));
        for (int i = 0; i < 500; i++)
            s.Select(Key(i), [0, -1, 0]).Should().NotBe(1);
    }

    [Theory]
    [InlineData("random")]
    [InlineData("least-connections")]
    [InlineData("maglev")]
    public void Create_NoBackends_SelectReturnsMinusOne(string algorithm)
    {
        var s = BackendSelectors.Create(algorithm, []);
        s.BackendCount.Should().Be(0);
        s.Select(Key(1), default).Should().Be(-1);
    }

    [Theory]
    [InlineData("random", typeof(RandomSelector))]
    [InlineData("least-connections", typeof(LeastConnectionsSelector))]
    [InlineData("maglev", typeof(MaglevSelector))]
    public void Create_KnownName_ReturnsThatAlgorithm(string algorithm, Type type) =>
        BackendSelectors.Create(algorithm, Names(3)).Should().BeOfType(type);

    [Fact]
    public void Create_UnknownName_ThrowsListingKnownOnes()
    {
        var act = () => BackendSelectors.Create("round-robin", Names(2));
        act.Should().Throw<ArgumentException>().WithMessage("*round-robin*random*least-connections*maglev*");
    }
}
