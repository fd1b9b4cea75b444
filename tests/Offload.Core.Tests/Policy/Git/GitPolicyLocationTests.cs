using Offload.Policy.Git;

namespace Offload.Tests.Policy.Git;

public class GitPolicyLocationTests
{
    [Theory]
    [InlineData("/srv/policy", "/srv/policy", null)]
    [InlineData("/srv/policy@v12", "/srv/policy", "v12")]
    [InlineData("/srv/policy@feature/blue", "/srv/policy", "feature/blue")]
    [InlineData("file:///srv/policy.git@4f2a9c1", "file:///srv/policy.git", "4f2a9c1")]
    [InlineData("https://git.example/policy.git@main", "https://git.example/policy.git", "main")]
    [InlineData("git@git.example:ops/policy.git", "git@git.example:ops/policy.git", null)]
    [InlineData("ssh://git@git.example/ops/policy.git", "ssh://git@git.example/ops/policy.git", null)]
    [InlineData("ssh://git@git.example/ops/policy.git@v3", "ssh://git@git.example/ops/policy.git", "v3")]
    public void Parse_Forms_SplitRepositoryAndRef(string text, string repository, string? reference)
    {
        var location = GitPolicyLocation.Parse(text);
        location.Repository.Should().Be(repository);
        location.Ref.Should().Be(reference);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/srv/policy@")]
    [InlineData("@main")]
    public void TryParse_Malformed_FalseWithMessage(string text)
    {
        GitPolicyLocation.TryParse(text, out _, out string? error).Should().BeFalse();
        error.Should().NotBeNullOrEmpty();
    }
}
