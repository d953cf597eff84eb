namespace PeerNet.Sdp;

/// <summary>Look-ups over an ordered list of a= lines, shared by the session and media levels.</summary>
internal static class SdpAttributeList
{
    public static SdpAttribute? Find(List<SdpAttribute> attributes, string name)
    {
        foreach (var attribute in attributes)
        {
            if (attribute.Name == name)
                return attribute;
        }
        return null;
    }

    public static IEnumerable<SdpAttribute> FindAll(List<SdpAttribute> attributes, string name)
    {
        foreach (var attribute in attributes)
        {
            if (attribute.Name == name)
                yield return attribute;
        }
    }
}
