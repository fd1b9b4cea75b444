using Offload.Tests.Classification;
using System.Collections.Immutable;
using Offload.Classification;
using Offload.Packets;

namespace Offload.Benchmarks.Workloads;

/// <summary>
/// P6: <see cref="AclClassifier"/> against <see cref="LinearAclClassifier"/> (rules sorted by precedence, scan stops at
/// the first match) over the same 10,000 cloud-like rules and the same random first-packet queries. The rule and query
/// generator is tests/Offload.Core.Tests/Classification/AclRuleGen.cs (Realistic, RealisticQuery), compiled in by link.
/// </summary>
internal sealed class AclWorkload
{
    private readonly AclQuery[] _queries;
    private int _treePos, _linearPos;

    public long Checksum;

    public AclWorkload(int rules, int queries = 8192)
    {
        var r = new Random(6);
        var set = AclRuleGen.Realistic(r, rules);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Tree = AclClassifier.Build(set, AclMode.DenyList);
        BuildSeconds = sw.Elapsed.TotalSeconds;
        Linear = LinearAclClassifier.Build(set, AclMode.DenyList);
        _queries = new AclQuery[queries];
        for (int i = 0; i < queries; i++)
            _queries[i] = AclRuleGen.RealisticQuery(r, set);
        for (int i = 0; i < queries; i++)
        {
            if (Tree.Classify(_queries[i]) != Linear.Classify(_queries[i]))
                throw new InvalidOperationException($"classifiers disagree on query {i}: {_queries[i]}");
        }
    }

    public AclClassifier Tree { get; }

    public LinearAclClassifier Linear { get; }

    public double BuildSeconds { get; }

    public const int Chunk = 16;

    public void TreeChunk()
    {
        for (int i = 0; i < Chunk; i++)
        {
            if (++_treePos == _queries.Length)
                _treePos = 0;
            Checksum += Tree.Classify(_queries[_treePos]).RuleId;
        }
    }

    public void LinearChunk()
    {
        for (int i = 0; i < Chunk; i++)
        {
            if (++_linearPos == _queries.Length)
                _linearPos = 0;
            Checksum += Linear.Classify(_queries[_linearPos]).RuleId;
        }
    }
}
