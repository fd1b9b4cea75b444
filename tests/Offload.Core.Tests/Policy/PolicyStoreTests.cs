using System.Collections.Immutable;
using Offload.Packets;
using Offload.Policy;
using static Offload.Tests.Policy.PolicyExamples;

namespace Offload.Tests.Policy;

public class PolicyStoreTests
{
    [Fact]
    public void TryApply_Valid_SwapsAndNumbersGenerations()
    {
        var store = new PolicyStore();
        store.Current.Should().BeNull();

        store.TryApply(Spec, out var errors).Should().BeTrue();
        errors.Should().BeEmpty();
        store.Current!.Generation.Should().Be(1);

        store.TryApply(SpecWith("rateMbps: 100", "rateMbps: 50"), out _).Should().BeTrue();
        store.Current!.Generation.Should().Be(2);
        store.Current.Qos[0].RateMbps.Should().Be(50);
    }

    [Fact]
    public void TryApply_Invalid_KeepsTheRunningPolicyAndReportsErrors()
    {
        var store = new PolicyStore();
        store.TryApply(Spec, out _).Should().BeTrue();
        var running = store.Current;
        int changes = 0;
        store.Changed += (_, _) => changes++;

        store.TryApply(SpecWith("vni: 200", "vni: 100"), out var errors).Should().BeFalse();

        errors.Should().ContainSingle().Which.Path.Should().Be("networks[1].vni");
        store.Current.Should().BeSameAs(running);
        store.Current!.Generation.Should().Be(1);
        changes.Should().Be(0);
    }

    [Fact]
    public void TryApply_InvalidSnapshot_IsRejectedWithoutTheLoader()
    {
        var store = new PolicyStore();
        var s = PolicyLoader.Load(Spec).Snapshot!;

        store.TryApply(s with { Qos = [new QosConfig("nope", 10, 64)] }, out var errors).Should().BeFalse();

        errors.Single().ToString().Should().StartWith("qos[0].port: unknown port 'nope'");
        store.Current.Should().BeNull();
    }

    [Fact]
    public void TryApply_Valid_RaisesChangedOnceAfterTheSwap()
    {
        var store = new PolicyStore();
        store.TryApply(Spec, out _);
        var first = store.Current;
        var events = new List<PolicyChangedEventArgs>();
        PolicySnapshot? currentDuringEvent = null;
        store.Changed += (sender, e) =>
        {
            sender.Should().BeSameAs(store);
            currentDuringEvent = store.Current;
            events.Add(e);
        };

        store.TryApply(SpecWith("burstKb: 256", "burstKb: 512"), out _).Should().BeTrue();

        var change = events.Should().ContainSingle().Subject;
        change.Previous.Should().BeSameAs(first);
        change.Current.Should().BeSameAs(store.Current);
        change.Current.Generation.Should().Be(2);
        currentDuringEvent.Should().BeSameAs(change.Current, "the event comes after the swap");
    }

    [Fact]
    public void TryApply_FirstPolicy_RaisesChangedWithNoPrevious()
    {
        var store = new PolicyStore();
        PolicyChangedEventArgs? seen = null;
        store.Changed += (_, e) => seen = e;

        store.TryApply(Spec, out _);

        seen!.Previous.Should().BeNull();
        seen.Current.Generation.Should().Be(1);
    }

    [Fact]
    public void TryApply_SameContent_IsAcceptedWithoutANewGeneration()
    {
        var store = new PolicyStore();
        store.TryApply(Spec, out _);
        int changes = 0;
        store.Changed += (_, _) => changes++;

        store.TryApply(Spec.Replace("# vxlan | gre", "", StringComparison.Ordinal), out var errors).Should().BeTrue();

        errors.Should().BeEmpty();
        store.Current!.Generation.Should().Be(1);
        changes.Should().Be(0);
    }

    [Fact]
    public async Task Current_UnderConcurrentSwaps_IsAlwaysAWholeSnapshot()
    {
        // Policy k has k ports, each named for k and addressed in k's network: a torn read would mix them.
        static PolicySnapshot Version(int k) => new()
        {
            Host = new HostConfig { Name = $"h{k}", Underlay = new UnderlayConfig(NetAddress.Parse("192.0.2.1"), MacAddress.Parse("02:00:00:00:00:01")) },
            Networks = [new NetworkConfig { Name = "n", Vni = k, Cidr = Prefix.Parse($"10.{k}.0.0/16") }],
            Ports = [.. Enumerable.Range(1, k).Select(i => new PortConfig
            {
                Name = $"p{k}-{i}", Network = "n", Mac = new MacAddress(0x0200_0000_0000UL | ((ulong)(uint)k << 8) | (ulong)(uint)i),
                Ip = NetAddress.FromV4((10u << 24) | ((uint)k << 16) | (uint)i), Host = $"h{k}",
            })],
        };
        var versions = Enumerable.Range(1, 60).Select(Version).ToArray();
        var store = new PolicyStore();
        store.TryApply(versions[0], out _).Should().BeTrue();
        using var stop = new CancellationTokenSource();
        var problems = new List<string>();
        long reads = 0;

        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            long lastGeneration = 0;
            while (!stop.IsCancellationRequested)
            {
                var s = store.Current!;
                int k = s.Networks[0].Vni;
                bool whole = s.Host.Name == $"h{k}" && s.Ports.Length == k
                    && s.Ports.All(p => p.Name.StartsWith($"p{k}-", StringComparison.Ordinal) && s.Networks[0].Cidr.Contains(p.Ip));
                lock (problems)
                {
                    if (!whole)
                        problems.Add($"torn snapshot at generation {s.Generation}");
                    if (s.Generation < lastGeneration)
                        problems.Add($"generation went back from {lastGeneration} to {s.Generation}");
                }
                lastGeneration = s.Generation;
                Interlocked.Increment(ref reads);
            }
        })).ToArray();

        while (Interlocked.Read(ref reads) == 0)
            await Task.Yield();
        for (int round = 0; round < 5; round++)
        {
            foreach (var v in versions.Skip(1).Concat(versions.Take(1)))
                store.TryApply(v, out var errors).Should().BeTrue(string.Join("; ", errors));
        }
        stop.Cancel();
        await Task.WhenAll(readers);

        problems.Should().BeEmpty();
        Interlocked.Read(ref reads).Should().BeGreaterThan(0);
        store.Current!.Generation.Should().Be(1 + 5 * 60);
    }

    [Fact]
    public void TryApply_ConcurrentWriters_GiveDistinctGenerationsInEventOrder()
    {
        var store = new PolicyStore();
        var generations = new List<long>();
        store.Changed += (_, e) => generations.Add(e.Current.Generation);
        var s = PolicyLoader.Load(Spec).Snapshot!;

        Parallel.For(0, 40, i => store.TryApply(s with { Qos = [new QosConfig("vm1", 1 + i, 256)] }, out _).Should().BeTrue());

        generations.Should().Equal(Enumerable.Range(1, 40).Select(i => (long)i));
        store.Current!.Generation.Should().Be(40);
    }

    [Fact]
    public void Snapshot_Collections_AreImmutable()
    {
        var s = PolicyLoader.Load(Spec).Snapshot!;

        s.Ports.Should().BeOfType<ImmutableArray<PortConfig>>();
        typeof(PolicySnapshot).GetProperties().Where(p => p.SetMethod is { IsPublic: true })
            .Should().OnlyContain(p => p.SetMethod!.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(System.Runtime.CompilerServices.IsExternalInit)),
                "snapshots have init-only properties");
    }
}
