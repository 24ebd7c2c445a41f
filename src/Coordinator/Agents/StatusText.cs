using System.Text;
using Grpc.Core;

namespace Millisampler.Coordinator.Agents;

/// <summary>gRPC status codes as the protocol spells them (FAILED_PRECONDITION), for messages people read.</summary>
internal static class StatusText
{
    public static string Name(StatusCode code)
    {
        string name = code.ToString();
        var sb = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                sb.Append('_');
            }

            sb.Append(char.ToUpperInvariant(name[i]));
        }

        return sb.ToString();
    }

    /// <summary>"CODE: detail" of an RpcException.</summary>
    public static string Describe(RpcException ex) =>
        string.IsNullOrEmpty(ex.Status.Detail) ? Name(ex.StatusCode) : $"{Name(ex.StatusCode)}: {ex.Status.Detail}";
}
