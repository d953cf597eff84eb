namespace PeerNet.Hub.Signaling;

/// <summary>A named group of peers. Exists while it has members; lock the room to touch it.</summary>
internal sealed class Room(string name)
{
    public string Name { get; } = name;
    public List<PeerSession> Members { get; } = new(4);

    /// <summary>Set when the last member left and the room was removed from the directory.</summary>
    public bool Dead;
}
