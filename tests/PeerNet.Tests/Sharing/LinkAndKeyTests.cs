using PeerNet.Sharing;

namespace PeerNet.Tests.Sharing;

public class LinkAndKeyTests
{
    private static readonly string Cid = new string('A', 42) + "Q"; // 32 bytes, canonical (spare bits zero)
    private static readonly string Key = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";

    [Fact]
    public void Link_round_trips_with_and_without_key()
    {
        var link = ShareLink.Parse($"https://hub.example:8443/#/get/{Cid}#k={Key}");
        Assert.Equal("hub.example:8443", link.Hub);
        Assert.Equal(Cid, link.ContentId.ToString());
        Assert.Equal(Key, link.RequireKey().ToBase64Url());
        Assert.Equal($"https://hub.example:8443/#/get/{Cid}#k={Key}", link.ToString());
        Assert.False(link.IsPinLink);

        var pin = ShareLink.Parse($"  https://[::1]:9000/#/get/{Cid}\n");
        Assert.True(pin.IsPinLink);
        Assert.Equal($"https://[::1]:9000/#/get/{Cid}", pin.ToString());
        Assert.Equal(pin.ToString(), link.ToPinLink().ToString().Replace("hub.example:8443", "[::1]:9000"));
        var e = Assert.Throws<SharingException>(() => pin.RequireKey());
        Assert.Equal(SharingErrorCode.MissingKey, e.Code);
        Assert.Equal("missing-key", e.CodeName);

        Assert.Equal("http", ShareLink.Parse($"http://127.0.0.1:8080/#/get/{Cid}").Scheme);
        Assert.Equal(new Uri("https://hub.example/"), ShareLink.Parse($"https://hub.example/#/get/{Cid}").HubUri);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ftp://hub/#/get/CID")]
    [InlineData("https:///#/get/CID")]
    [InlineData("https://hub/get/CID")]
    [InlineData("https://hub/#/get/")]
    [InlineData("https://hub/x/#/get/CID")]
    [InlineData("https://hub?q/#/get/CID")]
    [InlineData("https://user@hub/#/get/CID")]
    [InlineData("https://hub:0/#/get/CID")]
    [InlineData("https://hub:65536/#/get/CID")]
    [InlineData("https://hub:/#/get/CID")]
    [InlineData("https://[zz]/#/get/CID")]
    [InlineData("https://hub/#/get/CIDx")]
    [InlineData("https://hub/#/get/CID#")]
    [InlineData("https://hub/#/get/CID#k=")]
    [InlineData("https://hub/#/get/CID#k=KEYx")]
    [InlineData("https://hub/#/get/CID#key=KEY")]
    [InlineData("https://hub/#/get/CID#k=KEY#")]
    public void Bad_links_are_bad_link(string text)
    {
        text = text.Replace("CID", Cid).Replace("KEY", Key);
        var e = Assert.Throws<SharingException>(() => ShareLink.Parse(text));
        Assert.Equal(SharingErrorCode.BadLink, e.Code);
        Assert.False(ShareLink.TryParse(text, out _));
    }

    [Fact]
    public void Base64url_is_strict()
    {
        Assert.True(ContentId.TryParse(Cid, out _));
        Assert.False(ContentId.TryParse(new string('A', 42) + "B", out _));  // spare bits set: not canonical
        Assert.False(ContentId.TryParse(new string('A', 42) + "=", out _));
        Assert.False(ContentId.TryParse(new string('A', 42) + "+", out _));  // base64, not base64url
        Assert.False(ContentId.TryParse(new string('A', 44), out _));
        Assert.False(ContentId.TryParse(new string('A', 41) + " Q", out _));
        Assert.False(ContentKey.TryParse(Key + "=", out _));
        Assert.Equal(SharingErrorCode.BadLink, Assert.Throws<SharingException>(() => ContentKey.Parse("abc")).Code);
    }

    [Fact]
    public void Key_is_random_and_never_in_ToString()
    {
        var a = ContentKey.Generate();
        var b = ContentKey.Generate();
        Assert.NotEqual(a, b);
        Assert.DoesNotContain(a.ToBase64Url(), a.ToString());
        Assert.Equal(a, ContentKey.Parse(a.ToBase64Url()));
        Assert.Equal(a, ContentKey.FromBytes(a.Bytes));
        var manifestKey = new byte[32];
        var pieceKey = new byte[32];
        a.DeriveManifestKey(manifestKey);
        a.DerivePieceKey(pieceKey);
        Assert.NotEqual(manifestKey, pieceKey);
    }

    [Fact]
    public void Content_id_equality_and_bytes()
    {
        var bytes = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var id = ContentId.FromBytes(bytes);
        Assert.Equal(bytes, id.ToArray());
        Assert.True(id == ContentId.Parse(id.ToString()));
        Assert.True(id.Matches(bytes));
        bytes[31] ^= 1;
        Assert.True(id != ContentId.FromBytes(bytes));
        Assert.Equal(id.GetHashCode(), ContentId.Parse(id.ToString()).GetHashCode());
        Assert.Throws<ArgumentException>(() => ContentId.FromBytes(new byte[31]));
    }
}
