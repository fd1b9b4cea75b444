using Offload.Kernel.Nftables;
using Offload.Kernel.SlowPath;

namespace Offload.Kernel.Tests.SlowPath;

public sealed class KernelInterfaceNamesTests
{
    [Fact]
    public void Port_SameOwnerAndName_SameNameEveryTime()
    {
        KernelInterfaceNames.Port("agent", "vm1").Should().Be(KernelInterfaceNames.Port("agent", "vm1"));
    }

    [Fact]
    public void Derive_LongUnicodeName_FitsIfnamsizWithKindPrefix()
    {
        string longName = new('é', 300);

        KernelInterfaceNames.Port("agent", longName).Should().MatchRegex("^ofp[0-9a-f]{8}$");
        KernelInterfaceNames.Tunnel("agent", longName).Should().MatchRegex("^oft[0-9a-f]{8}$");
        KernelInterfaceNames.Uplink("agent", longName).Should().MatchRegex("^ofu[0-9a-f]{8}$");
        KernelInterfaceNames.Port("agent", longName).Length.Should().BeLessThanOrEqualTo(KernelTopology.MaxInterfaceNameLength);
    }

    [Fact]
    public void Derive_DifferentOwnerOrKind_DifferentName()
    {
        string name = KernelInterfaceNames.Port("agent-a", "blue");

        KernelInterfaceNames.Port("agent-b", "blue").Should().NotBe(name);
        KernelInterfaceNames.Tunnel("agent-a", "blue")[3..].Should().NotBe(name[3..], "the kind is hashed too, not only prefixed");
    }

    [Fact]
    public void Port_EmptyOwner_Throws()
    {
        Action act = () => KernelInterfaceNames.Port("", "vm1");

        act.Should().Throw<ArgumentException>();
    }
}
