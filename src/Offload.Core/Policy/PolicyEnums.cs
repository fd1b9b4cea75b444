namespace Offload.Policy;

/// <summary>What a matching rule does.</summary>
public enum RuleAction : byte
{
    /// <summary>Let the packet through.</summary>
    Allow,
    /// <summary>Drop the packet (counted with its reason).</summary>
    Deny,
}

/// <summary>Which traffic of a port a rule looks at, seen from the VM.</summary>
public enum TrafficDirection : byte
{
    /// <summary>Traffic towards a VM.</summary>
    Ingress,
    /// <summary>Traffic leaving a VM.</summary>
    Egress,
    /// <summary>Both directions.</summary>
    Both,
}

/// <summary>How a load balancer picks a backend for a new connection (sticky for the connection's life).</summary>
public enum LoadBalancingAlgorithm : byte
{
    /// <summary>Uniformly at random, weighted.</summary>
    Random,
    /// <summary>The backend with the fewest live tracked connections, weighted.</summary>
    LeastConnections,
    /// <summary>Maglev consistent hashing of the connection's 5-tuple.</summary>
    Maglev,
}
