namespace PeerNet.Sdp;

/// <summary>
/// The a=setup attribute (RFC 4145 §4, applied to DTLS by RFC 8842 §5): which side opens the
/// DTLS association. <see cref="Active"/> is the DTLS client, <see cref="Passive"/> the server.
/// </summary>
public enum SdpSetupRole
{
    Active,
    Passive,
    ActPass,
    HoldConn,
}

/// <summary>The a=setup wire values (RFC 4145 §4: "active" / "passive" / "actpass" / "holdconn").</summary>
public static class SdpSetupRoleNames
{
    public static string ToSdpValue(this SdpSetupRole role) => role switch
    {
        SdpSetupRole.Active => "active",
        SdpSetupRole.Passive => "passive",
        SdpSetupRole.ActPass => "actpass",
        SdpSetupRole.HoldConn => "holdconn",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    public static bool TryParse(string? value, out SdpSetupRole role)
    {
        switch (value)
        {
            case "active": role = SdpSetupRole.Active; return true;
            case "passive": role = SdpSetupRole.Passive; return true;
            case "actpass": role = SdpSetupRole.ActPass; return true;
            case "holdconn": role = SdpSetupRole.HoldConn; return true;
            default: role = default; return false;
        }
    }
}
