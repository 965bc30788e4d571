package httpserver

import (
	"strings"
	"testing"
)

func TestStreamsCRUD(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	r := e.do("POST", "/streams", tok, map[string]any{"name": "orders"}).expect(t, 200)
	st := decode[StreamDetailsJSON](t, r)
	if st.ID != 0 || st.Name != "orders" || st.TopicsCount != 0 || st.Size != 0 || st.CreatedAt == 0 {
		t.Fatalf("created %+v", st)
	}
	if !strings.Contains(string(r.body), `"size":"0 B"`) || !strings.Contains(string(r.body), `"topics":[]`) {
		t.Fatalf("stream JSON %s", r.body)
	}
	e.do("POST", "/streams", tok, map[string]any{"name": "orders"}).iggyError(t, 400, 1012, "stream_name_already_exists")
	list := decode[[]StreamJSON](t, e.do("GET", "/streams", tok, nil).expect(t, 200))
	if len(list) != 1 || list[0].Name != "orders" {
		t.Fatalf("list %+v", list)
	}
	// By id and by name.
	e.do("GET", "/streams/0", tok, nil).expect(t, 200)
	e.do("GET", "/streams/orders", tok, nil).expect(t, 200)
	nf := e.do("GET", "/streams/999", tok, nil).iggyError(t, 404, 404, "not_found")
	if nf.Field != nil {
		t.Fatalf("not found field %v", *nf.Field)
	}
	e.do("PUT", "/streams/orders", tok, map[string]any{"name": "sales"}).expect(t, 204)
	e.do("GET", "/streams/sales", tok, nil).expect(t, 200)
	e.do("PUT", "/streams/999", tok, map[string]any{"name": "x1"}).iggyError(t, 404, 1009, "stream_id_not_found")
	e.do("DELETE", "/streams/sales/purge", tok, nil).expect(t, 204)
	e.do("DELETE", "/streams/sales", tok, nil).expect(t, 204)
	e.do("DELETE", "/streams/sales", tok, nil).iggyError(t, 404, 1009, "stream_id_not_found")
	if got := decode[[]StreamJSON](t, e.do("GET", "/streams", tok, nil)); len(got) != 0 {
		t.Fatalf("after delete %+v", got)
	}
}

func TestTopicsPartitionsCRUD(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	e.do("POST", "/streams", tok, map[string]any{"name": "s1"}).expect(t, 200)
	r := e.do("POST", "/streams/s1/topics", tok, `{"name":"t1","partitions_count":3,"compression_algorithm":"gzip",
		"message_expiry":0,"max_topic_size":"unlimited","replication_factor":1}`).expect(t, 200)
	td := decode[TopicDetailsJSON](t, r)
	if td.Name != "t1" || td.PartitionsCount != 3 || len(td.Partitions) != 3 || td.CompressionAlgorithm != "gzip" ||
		td.MaxTopicSize != u64Max {
		t.Fatalf("topic %+v", td)
	}
	e.do("POST", "/streams/s1/topics", tok, `{"name":"t1","partitions_count":1,"compression_algorithm":"none","message_expiry":0,"max_topic_size":0}`).
		iggyError(t, 400, 2013, "topic_name_already_exists")
	e.do("POST", "/streams/s1/topics", tok, `{"name":"t2","partitions_count":1,"compression_algorithm":"zstd","message_expiry":0,"max_topic_size":0}`).
		expect(t, 422)
	ts := decode[[]TopicJSON](t, e.do("GET", "/streams/s1/topics", tok, nil).expect(t, 200))
	if len(ts) != 1 {
		t.Fatalf("topics %+v", ts)
	}
	e.do("GET", "/streams/nope/topics", tok, nil).expect(t, 404)
	e.do("GET", "/streams/s1/topics/t1", tok, nil).expect(t, 200)
	e.do("GET", "/streams/s1/topics/t9", tok, nil).iggyError(t, 404, 404, "not_found")
	e.do("PUT", "/streams/s1/topics/t1", tok, `{"name":"t1b","compression_algorithm":"none","message_expiry":1000000,"max_topic_size":0}`).
		expect(t, 204)
	td = decode[TopicDetailsJSON](t, e.do("GET", "/streams/s1/topics/t1b", tok, nil).expect(t, 200))
	if td.MessageExpiry != 1000000 || td.CompressionAlgorithm != "none" {
		t.Fatalf("updated %+v", td)
	}
	// Partitions.
	e.do("POST", "/streams/s1/topics/t1b/partitions", tok, map[string]any{"partitions_count": 2}).expect(t, 201)
	td = decode[TopicDetailsJSON](t, e.do("GET", "/streams/s1/topics/t1b", tok, nil))
	if td.PartitionsCount != 5 {
		t.Fatalf("after create partitions: %d", td.PartitionsCount)
	}
	e.do("DELETE", "/streams/s1/topics/t1b/partitions?partitions_count=4", tok, nil).expect(t, 204)
	e.do("DELETE", "/streams/s1/topics/t1b/partitions?partitions_count=x", tok, nil).expect(t, 400)
	e.do("DELETE", "/streams/s1/topics/t1b/partitions", tok, nil).expect(t, 400)
	td = decode[TopicDetailsJSON](t, e.do("GET", "/streams/s1/topics/t1b", tok, nil))
	if td.PartitionsCount != 1 {
		t.Fatalf("after delete partitions: %d", td.PartitionsCount)
	}
	e.do("DELETE", "/streams/s1/topics/t1b/purge", tok, nil).expect(t, 204)
	e.do("DELETE", "/streams/s1/topics/t1b", tok, nil).expect(t, 204)
	e.do("DELETE", "/streams/s1/topics/t1b", tok, nil).iggyError(t, 404, 2010, "topic_id_not_found")
}

func TestGroupsAndOffsets(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	e.mkTopic(tok, "s", "t", 2)
	r := e.do("POST", "/streams/s/topics/t/consumer-groups", tok, map[string]any{"name": "g1"}).expect(t, 201)
	g := decode[GroupDetailsJSON](t, r)
	if g.Name != "g1" || g.PartitionsCount != 2 || g.MembersCount != 0 || g.Members == nil {
		t.Fatalf("group %+v (%s)", g, r.body)
	}
	e.do("POST", "/streams/s/topics/t/consumer-groups", tok, map[string]any{"name": "g1"}).
		iggyError(t, 400, 5004, "consumer_group_name_already_exists")
	if gs := decode[[]GroupJSON](t, e.do("GET", "/streams/s/topics/t/consumer-groups", tok, nil).expect(t, 200)); len(gs) != 1 {
		t.Fatalf("groups %+v", gs)
	}
	e.do("GET", "/streams/s/topics/t/consumer-groups/g1", tok, nil).expect(t, 200)
	e.do("GET", "/streams/s/topics/t/consumer-groups/nope", tok, nil).expect(t, 404)
	e.do("DELETE", "/streams/s/topics/t/consumer-groups/g1", tok, nil).expect(t, 204)
	e.do("DELETE", "/streams/s/topics/t/consumer-groups/g1", tok, nil).expect(t, 404)

	// Offsets: none stored yet -> 404.
	e.do("GET", "/streams/s/topics/t/consumer-offsets?consumer_id=7&partition_id=1", tok, nil).iggyError(t, 404, 404, "not_found")
	e.sendN(tok, "s", "t", 1, 5)
	e.do("PUT", "/streams/s/topics/t/consumer-offsets", tok, `{"consumer_id":"7","partition_id":1,"offset":3}`).expect(t, 204)
	o := decode[OffsetJSON](t, e.do("GET", "/streams/s/topics/t/consumer-offsets?consumer_id=7&partition_id=1", tok, nil).expect(t, 200))
	if o.PartitionID != 1 || o.StoredOffset != 3 || o.CurrentOffset != 4 {
		t.Fatalf("offset %+v", o)
	}
	// A named consumer is the same consumer as on TCP (XXH32 of the name).
	e.do("PUT", "/streams/s/topics/t/consumer-offsets", tok, `{"consumer_id":"worker","partition_id":1,"offset":2}`).expect(t, 204)
	o = decode[OffsetJSON](t, e.do("GET", "/streams/s/topics/t/consumer-offsets?consumer_id=worker&partition_id=1", tok, nil).expect(t, 200))
	if o.StoredOffset != 2 {
		t.Fatalf("named offset %+v", o)
	}
	e.do("PUT", "/streams/s/topics/t/consumer-offsets", tok, `{"consumer_id":"7","partition_id":1,"offset":99}`).expect(t, 400)
	e.do("PUT", "/streams/s/topics/t/consumer-offsets", tok, `{"consumer_id":"7","partition_id":9,"offset":0}`).
		iggyError(t, 404, 3007, "partition_not_found")
	e.do("DELETE", "/streams/s/topics/t/consumer-offsets/7?partition_id=1", tok, nil).expect(t, 204)
	e.do("GET", "/streams/s/topics/t/consumer-offsets?consumer_id=7&partition_id=1", tok, nil).expect(t, 404)
}

func TestBadBodiesStoreNothing(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	big := `{"name":"` + strings.Repeat("a", int(DefaultMaxRequestBody)) + `"}`
	for _, c := range []struct {
		name   string
		ctype  string
		body   string
		status int
	}{
		{"malformed", "application/json", `{"name":`, 400},
		{"trailing", "application/json", `{"name":"x"} {}`, 400},
		{"wrong type", "application/json", `{"name":5}`, 422},
		{"missing field", "application/json", `{}`, 422},
		{"array", "application/json", `[]`, 422},
		{"no content type", "", `{"name":"x"}`, 415},
		{"text content type", "text/plain", `{"name":"x"}`, 415},
		{"oversize", "application/json", big, 413},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.doCT("POST", "/streams", tok, c.ctype, c.body).expect(t, c.status)
			if c.status != 413 && len(r.body) == 0 {
				t.Fatal("empty rejection body")
			}
		})
	}
	if got := decode[[]StreamJSON](t, e.do("GET", "/streams", tok, nil)); len(got) != 0 {
		t.Fatalf("a rejected request stored %+v", got)
	}
	e.do("GET", "/streams/"+strings.Repeat("n", 256), tok, nil).iggyError(t, 400, 6, "invalid_identifier")
}
