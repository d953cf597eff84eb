namespace PeerNet.Signaling;

/// <summary>An error reported by the signaling server, or a failure to reach it.</summary>
public sealed class SignalingException : Exception
{
    public SignalingException(string code, string message, string? reference = null, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        Reference = reference;
    }

    /// <summary>One of <see cref="SignalingErrorCode"/>, or <c>connection</c> when the hub could not be reached.</summary>
    public string Code { get; }

    /// <summary>The <c>ref</c> of the rejected message, as the server echoed it.</summary>
    public string? Reference { get; }
}
