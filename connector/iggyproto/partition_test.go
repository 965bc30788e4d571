package iggyproto

import "testing"

func TestXXH32Vectors(t *testing.T) {
	if got := KeyHash(nil); got != 0x02CC5D05 {
		t.Fatalf("XXH32(\"\") = %#x", got)
	}
	if got := KeyHash([]byte("abc")); got != 0x32D153FF {
		t.Fatalf("XXH32(\"abc\") = %#x", got)
	}
	if got := ConsumerIDForName("abc"); got != 0x32D153FF {
		t.Fatalf("ConsumerIDForName(\"abc\") = %#x", got)
	}
}

func TestPartitionForKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		n    uint32
		want uint32
	}{
		{"", 1, 0},
		{"", 3, 0x02CC5D05 % 3},
		{"abc", 3, 0x32D153FF % 3},
		{"abc", 7, 0x32D153FF % 7},
		{"abc", 1000, 0x32D153FF % 1000},
	} {
		got, err := PartitionForKey([]byte(tc.key), tc.n)
		if err != nil || got != tc.want {
			t.Fatalf("PartitionForKey(%q, %d) = %d, %v; want %d", tc.key, tc.n, got, err, tc.want)
		}
	}
	_, err := PartitionForKey([]byte("abc"), 0)
	wantCode(t, err, CodeTopicIDNotFound)
}

func TestSelectPartition(t *testing.T) {
	var rr uint32
	next := func() uint32 { v := rr; rr++; return v }
	var got []uint32
	for range 5 {
		p, err := SelectPartition(BalancedPartitioning(), 3, next)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	eq(t, "round robin", got, []uint32{0, 1, 2, 0, 1})
	_, err := SelectPartition(BalancedPartitioning(), 0, next)
	wantCode(t, err, CodeTopicIDNotFound)
	p, err := SelectPartition(PartitionIDPartitioning(2), 3, nil)
	if err != nil || p != 2 {
		t.Fatalf("partition id: %d, %v", p, err)
	}
	_, err = SelectPartition(PartitionIDPartitioning(3), 3, nil)
	wantCode(t, err, CodePartitionNotFound)
	p, err = SelectPartition(MessageKeyPartitioning([]byte("abc")), 7, nil)
	if err != nil || p != 0x32D153FF%7 {
		t.Fatalf("key: %d, %v", p, err)
	}
	_, err = SelectPartition(Partitioning{Kind: 9}, 3, nil)
	wantCode(t, err, CodeInvalidCommand)
}
