using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Sampling;

/// <summary>Who the recorded runs belong to.</summary>
public sealed record HostIdentity(string Host, string Rack, IReadOnlyList<InterfaceInfo> Interfaces);
