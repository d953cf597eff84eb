namespace PeerNet.Dtls;

/// <summary>Why a <see cref="DtlsTransport"/> failed.</summary>
/// <param name="Reason">The kind of failure.</param>
/// <param name="Message">A sentence for logs and users.</param>
/// <param name="Alert">
/// For <see cref="DtlsFailureReason.AlertReceived"/> the alert the peer sent; otherwise the alert we
/// sent, when we sent one.
/// </param>
public sealed record DtlsFailure(DtlsFailureReason Reason, string Message, DtlsAlertDescription? Alert = null)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Reason}: {Message}";
}
