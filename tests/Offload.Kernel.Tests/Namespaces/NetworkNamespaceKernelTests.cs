using Offload.Kernel.Namespaces;
using Offload.Kernel.Rtnetlink;
using RootFactAttribute = Offload.Kernel.Tests.Netns.RootFactAttribute;
using TestNamespace = Offload.Kernel.Tests.Netns.NetworkNamespace;

namespace Offload.Kernel.Tests.Namespaces;

public sealed class NetworkNamespaceKernelTests
{
    private static string Inode() => File.ResolveLinkTarget("/proc/thread-self/ns/net", returnFinalTarget: false)!.FullName;

    [RootFact]
    public void Run_NamedNamespace_ThreadIsInsideAndCallerIsNot()
    {
        using TestNamespace test = TestNamespace.Create();
        string outside = Inode();
        string inside = test.Namespace.Run(Inode);
        string viaIp = test.Exec("readlink", "/proc/self/ns/net").Trim();

        Path.GetFileName(inside).Should().Be(viaIp).And.NotBe(Path.GetFileName(outside));
        Inode().Should().Be(outside, "the caller's thread never changes namespace");
    }

    [RootFact]
    public void Open_ByName_SocketCreatedInRunStaysBound()
    {
        using TestNamespace test = TestNamespace.Create();
        using NetworkNamespace opened = NetworkNamespace.Open(test.Name);
        using RtnetlinkClient client = RtnetlinkClient.Open(opened);

        // The netlink socket was made inside; used here from the test thread it still sees only the namespace's links.
        IReadOnlyList<LinkInfo> links = client.ListLinks();

        links.Should().ContainSingle().Which.Name.Should().Be("lo");
        opened.Name.Should().Be(test.Name);
    }

    [RootFact]
    public void OpenCurrent_Run_StaysInCallersNamespace()
    {
        using NetworkNamespace current = NetworkNamespace.OpenCurrent();
        current.Run(Inode).Should().Be(Inode());
        current.Name.Should().BeNull();
    }

    [RootFact]
    public void Create_ThenDispose_NamespaceFileGoneAndLoopbackWasUp()
    {
        string name = $"offload-test-{Environment.ProcessId}-create";
        NetworkNamespace.TryDelete(name);
        bool loopbackUp;
        using (NetworkNamespace ns = NetworkNamespace.Create(name))
        {
            NetworkNamespace.ListNamed().Should().Contain(name);
            using RtnetlinkClient client = RtnetlinkClient.Open(ns);
            loopbackUp = client.FindLink("lo")!.IsUp;
        }

        loopbackUp.Should().BeTrue();
        File.Exists(Path.Combine(NetworkNamespace.NamedRoot, name)).Should().BeFalse();
    }

    [RootFact]
    public void Create_ExistingName_Throws()
    {
        using TestNamespace test = TestNamespace.Create();
        Action again = () => NetworkNamespace.Create(test.Name);
        again.Should().Throw<InvalidOperationException>().WithMessage("*netns add*");
    }

    [RootFact]
    public void Open_Missing_ThrowsIOExceptionWithPath()
    {
        Action open = () => NetworkNamespace.Open($"offload-test-{Environment.ProcessId}-missing");
        open.Should().Throw<IOException>().WithMessage("*/var/run/netns/offload-test-*missing*");
    }

    [RootFact]
    public void Run_WorkThrows_OriginalExceptionPropagates()
    {
        using TestNamespace test = TestNamespace.Create();
        Action run = () => test.Namespace.Run(new Action(() => throw new FormatException("inside")));
        run.Should().Throw<FormatException>().WithMessage("inside");
    }

    [Fact]
    public void Open_NameWithSlash_Rejected()
    {
        Action open = () => NetworkNamespace.Open("../etc");
        open.Should().Throw<ArgumentException>();
    }
}
