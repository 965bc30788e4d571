package iggyproto

import (
	"bytes"
	"testing"

	iggcon "github.com/apache/iggy/foreign/go/contracts"
)

func TestPermissionsRoundTrip(t *testing.T) {
	for _, p := range []Permissions{
		{},
		AllPermissions(),
		*samplePerms(),
		{Streams: []StreamPermissions{{StreamID: 1}, {StreamID: 2, Topics: []TopicPermissions{{TopicID: 1}, {TopicID: 2, SendMessages: true}, {TopicID: 3}}}}},
	} {
		enc := AppendPermissions(nil, p)
		if len(enc) != PermissionsSize(p) {
			t.Fatalf("size %d, PermissionsSize %d", len(enc), PermissionsSize(p))
		}
		got, n, err := DecodePermissions(append(enc, 0xff))
		if err != nil || n != len(enc) {
			t.Fatalf("%v, used %d of %d", err, n, len(enc))
		}
		eq(t, "permissions", got, p)
		for i := range enc {
			if _, _, err := DecodePermissions(enc[:i]); err == nil {
				t.Fatalf("truncated to %d decoded", i)
			} else {
				wantCode(t, err, CodeInvalidCommand)
			}
		}
	}
}

// Any non-zero boolean byte reads as true.
func TestPermissionsNonZeroBooleans(t *testing.T) {
	enc := []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0}
	p, _, err := DecodePermissions(enc)
	if err != nil || !p.Global.ManageServers || !p.Global.SendMessages || p.Global.ReadServers {
		t.Fatalf("%+v %v", p, err)
	}
}

// Multi-stream sets: the SDK iterates maps in random order, so compare the
// decoded sets rather than bytes, both ways.
func TestPermissionsAgainstSDK(t *testing.T) {
	p := &Permissions{Global: GlobalPermissions{ReadUsers: true}, Streams: []StreamPermissions{
		{StreamID: 1, ManageStream: true, Topics: []TopicPermissions{{TopicID: 4, ReadTopic: true}, {TopicID: 5, PollMessages: true}}},
		{StreamID: 2, ReadTopics: true, Topics: []TopicPermissions{{TopicID: 1, ManageTopic: true}}},
	}}
	sdkBytes, err := toSDKPerms(p).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := DecodePermissions(sdkBytes)
	if err != nil || n != len(sdkBytes) {
		t.Fatalf("%v %d/%d", err, n, len(sdkBytes))
	}
	eq(t, "decoded SDK permissions", toSDKPerms(&got), toSDKPerms(p))
	if len(AppendPermissions(nil, *p)) != len(sdkBytes) {
		t.Fatal("sizes differ")
	}
	// And the SDK's own deserializer reads ours (through a user record).
	u := UserDetails{UserInfo: UserInfo{ID: 1, Status: UserActive, Username: "u"}, Permissions: p}
	enc := AppendUserDetails(nil, u)
	var sdk *iggcon.UserInfoDetails
	if sdk, err = deserializeUserSDK(enc); err != nil {
		t.Fatal(err)
	}
	eq(t, "SDK view", sdk.Permissions, toSDKPerms(p))
	if !bytes.Equal(enc[len(enc)-len(sdkBytes):], AppendPermissions(nil, *p)) {
		t.Fatal("user details do not end with the permissions block")
	}
}
