//! From a captured frame to "is this a TCP SYN, and between which endpoints".
//!
//! Kept apart from the capture thread so it can be tested on hand-built frames: the link-layer
//! header differs with the interface (a Docker bridge and Linux `lo` give Ethernet, the `any`
//! device gives Linux cooked headers, tunnels give bare IP), and each must lead to the same TCP
//! header.

use std::net::SocketAddr;

use etherparse::{EtherType, NetSlice, SlicedPacket, TransportSlice};
use pcap::Linktype;

/// `DLT_RAW` as Linux's libpcap reports it for live captures (the savefile value is 101).
const DLT_RAW_LINUX: Linktype = Linktype(12);
/// `DLT_RAW` as OpenBSD's libpcap reports it.
const DLT_RAW_OPENBSD: Linktype = Linktype(14);
/// Length of a `LINKTYPE_LINUX_SLL2` header; its first two bytes are the protocol (ethertype).
const SLL2_HEADER_LEN: usize = 20;
/// Length of the address-family word in front of `LINKTYPE_NULL`/`LINKTYPE_LOOP` frames (BSD).
const NULL_HEADER_LEN: usize = 4;

/// The endpoints of a TCP segment with SYN set and ACK clear (a connection attempt), or `None`
/// for anything else: other protocols, SYN-ACKs, non-IP frames, frames too short to decode, and
/// link types this module does not know.
pub(crate) fn tcp_syn(linktype: Linktype, frame: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
    let sliced = match linktype {
        Linktype::ETHERNET => SlicedPacket::from_ethernet(frame),
        Linktype::LINUX_SLL => SlicedPacket::from_linux_sll(frame),
        Linktype::LINUX_SLL2 => {
            let protocol = frame.get(..2)?;
            let payload = frame.get(SLL2_HEADER_LEN..)?;
            let ether_type = EtherType(u16::from_be_bytes([protocol[0], protocol[1]]));
            SlicedPacket::from_ether_type(ether_type, payload)
        }
        Linktype::RAW | DLT_RAW_LINUX | DLT_RAW_OPENBSD | Linktype::IPV4 | Linktype::IPV6 => {
            SlicedPacket::from_ip(frame)
        }
        Linktype::NULL | Linktype::LOOP => SlicedPacket::from_ip(frame.get(NULL_HEADER_LEN..)?),
        _ => return None,
    }
    .ok()?;

    let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
        return None;
    };
    if !tcp.syn() || tcp.ack() {
        return None;
    }
    let (src, dst) = match sliced.net.as_ref()? {
        NetSlice::Ipv4(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        NetSlice::Ipv6(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        NetSlice::Arp(_) => return None,
    };
    Some((
        SocketAddr::new(src, tcp.source_port()),
        SocketAddr::new(dst, tcp.destination_port()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    const SRC_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const DST_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const V6_SRC: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3];
    const V6_DST: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4];

    fn eth_v4(syn: bool, ack: bool) -> Vec<u8> {
        let mut b = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
            .ipv4([10, 0, 0, 3], [10, 0, 0, 4], 64)
            .tcp(40212, 8000, 1, 64240);
        if syn {
            b = b.syn();
        }
        if ack {
            b = b.ack(7);
        }
        let mut out = Vec::new();
        b.write(&mut out, &[]).expect("build frame");
        out
    }

    fn eth_v6(syn: bool, ack: bool) -> Vec<u8> {
        let mut b = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
            .ipv6(V6_SRC, V6_DST, 64)
            .tcp(40212, 0, 1, 64240);
        if syn {
            b = b.syn();
        }
        if ack {
            b = b.ack(7);
        }
        let mut out = Vec::new();
        b.write(&mut out, &[]).expect("build frame");
        out
    }

    fn raw_v4_syn() -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 3], [10, 0, 0, 4], 64)
            .tcp(40212, 0, 1, 64240)
            .syn()
            .write(&mut out, &[])
            .expect("build packet");
        out
    }

    #[test]
    fn ipv4_syn_over_ethernet() {
        let got = tcp_syn(Linktype::ETHERNET, &eth_v4(true, false));
        assert_eq!(
            got,
            Some((
                "10.0.0.3:40212".parse().unwrap(),
                "10.0.0.4:8000".parse().unwrap()
            ))
        );
    }

    #[test]
    fn ipv4_syn_ack_and_plain_ack_are_not_syns() {
        assert_eq!(tcp_syn(Linktype::ETHERNET, &eth_v4(true, true)), None);
        assert_eq!(tcp_syn(Linktype::ETHERNET, &eth_v4(false, true)), None);
    }

    #[test]
    fn ipv6_syn_to_port_zero_over_ethernet() {
        let got = tcp_syn(Linktype::ETHERNET, &eth_v6(true, false));
        assert_eq!(
            got,
            Some((
                "[fd00::3]:40212".parse().unwrap(),
                "[fd00::4]:0".parse().unwrap()
            ))
        );
        assert_eq!(tcp_syn(Linktype::ETHERNET, &eth_v6(true, true)), None);
    }

    #[test]
    fn raw_ip_and_cooked_headers() {
        let ip = raw_v4_syn();
        let want = Some((
            "10.0.0.3:40212".parse().unwrap(),
            "10.0.0.4:0".parse().unwrap(),
        ));
        assert_eq!(tcp_syn(Linktype::RAW, &ip), want);
        assert_eq!(tcp_syn(DLT_RAW_LINUX, &ip), want);

        // LINUX_SLL: packet type, ARPHRD, address length, 8 address bytes, protocol.
        let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&ip);
        assert_eq!(tcp_syn(Linktype::LINUX_SLL, &sll), want);

        // LINUX_SLL2: protocol, reserved, ifindex, ARPHRD, packet type, address length, address.
        let mut sll2 = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0,
        ];
        sll2.extend_from_slice(&ip);
        assert_eq!(tcp_syn(Linktype::LINUX_SLL2, &sll2), want);
    }

    #[test]
    fn garbage_and_unknown_link_types_decode_to_nothing() {
        assert_eq!(tcp_syn(Linktype::ETHERNET, &[]), None);
        assert_eq!(tcp_syn(Linktype::ETHERNET, &[0xff; 13]), None);
        assert_eq!(tcp_syn(Linktype::LINUX_SLL2, &[0x08, 0x00]), None);
        assert_eq!(tcp_syn(Linktype(147), &eth_v4(true, false)), None);
        // A UDP datagram is not a SYN.
        let mut udp = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 3], [10, 0, 0, 4], 64)
            .udp(5353, 53)
            .write(&mut udp, &[1, 2, 3])
            .expect("build packet");
        assert_eq!(tcp_syn(Linktype::RAW, &udp), None);
    }
}
