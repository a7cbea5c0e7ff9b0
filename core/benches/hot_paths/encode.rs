//! The encodings a write goes through: the peer wire (postcard) of a Proposal carrying a
//! 100-byte create, both ways, and of an Ack; the JSON of a client API reply (`/api`, which
//! `zabra bench` drives).

use criterion::Criterion;
use zabra_core::datatree::{OpResult, Stat};
use zabra_core::log::{Entry, Origin};
use zabra_core::message::{Envelope, Message, MsgId};
use zabra_core::peer::{ClientResult, Reply};
use zabra_core::txn::{CreateMode, Op, Txn};
use zabra_core::{SessionId, Sid, Zxid};

fn proposal() -> Envelope {
    let zxid = Zxid::new(3, 1234);
    let session = SessionId(0x1_0000_0000_0042);
    let op = Op::create("/bench/n000123", &[7; 100], CreateMode::Persistent);
    let txn = Txn { session, time_ms: 1_700_000_000_000, auth: Vec::new(), op };
    let entry = Entry { zxid, txn: txn.into(), origin: Some(Origin { sid: Sid(2), session, xid: 77 }) };
    Envelope { id: MsgId { from: Sid(1), seq: 991 }, msg: Message::Proposal { epoch: 3, entry } }
}

pub fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let p = proposal();
    let bytes = zabra_peerwire::encode(&p).expect("encodes");
    println!("a Proposal of a 100-byte create: {} bytes on the peer wire", bytes.len());
    g.bench_function("peerwire_proposal_encode", |b| b.iter(|| zabra_peerwire::encode(std::hint::black_box(&p))));
    g.bench_function("peerwire_proposal_decode", |b| b.iter(|| zabra_peerwire::decode(std::hint::black_box(&bytes))));
    let ack = Envelope { id: MsgId { from: Sid(2), seq: 5 }, msg: Message::Ack { epoch: 3, zxid: Zxid::new(3, 1234) } };
    g.bench_function("peerwire_ack_encode", |b| b.iter(|| zabra_peerwire::encode(std::hint::black_box(&ack))));
    let created = Reply {
        session: SessionId(0x1_0000_0000_0042),
        xid: 77,
        zxid: Zxid::new(3, 1234),
        result: ClientResult::Write(OpResult::Created { path: "/bench/n000123".into(), stat: Stat::default() }),
    };
    g.bench_function("json_reply_created", |b| b.iter(|| serde_json::to_string(std::hint::black_box(&created))));
    let data =
        Reply { result: ClientResult::Data { data: vec![7u8; 100].into(), stat: Stat::default() }, ..created.clone() };
    g.bench_function("json_reply_data_100B", |b| b.iter(|| serde_json::to_string(std::hint::black_box(&data))));
    g.finish();
}
