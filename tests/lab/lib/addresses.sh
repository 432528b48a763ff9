# The lab's addresses and names: the one place to change them.
# shellcheck shell=bash
#
# Documentation prefixes only (RFC 5737, RFC 3849), never one of this
# machine's own: lab_check_prefixes refuses to start when one is in use
# (a route, an /etc/hosts entry or a nameserver). 192.0.2.0/24 and
# 203.0.113.0/24 are taken on the project's machines.

SDL_PREFIX=sdl-                         # every namespace name starts with it
SDL_NAMESPACES="client isp mail mx1 mx2 dns rbl proxy"
SDL_ROOT_ROUTES4="198.51.100.0/24"
SDL_ROOT_ROUTES6="2001:db8:5d1::/48"

# client <-> isp: the subscriber line, 198.51.100.192/26
CLIENT4=198.51.100.200            # smtpdoctor's source and --public-ip
CLIENT4_NEG=198.51.100.201        # source for negative AUTH tests (Dovecot delays a failing address)
ISP_C4=198.51.100.193
CLIENT6=2001:db8:5d1:1::10
ISP_C6=2001:db8:5d1:1::1

# isp <-> provider LAN 198.51.100.0/26 (bridge br-srv in the isp namespace)
ISP_S4=198.51.100.1
ISP_S6=2001:db8:5d1:2::1
MAIL_HEALTHY4=198.51.100.10      # smtp.example.net: 25, 587 STARTTLS+AUTH, 465
MAIL_HEALTHY6=2001:db8:5d1:2::10
MAIL_NOTLS4=198.51.100.11        # smtp-notls.example.net: no STARTTLS, AUTH in the clear
MAIL_TLS10_4=198.51.100.12       # smtp-tls10.example.net: TLS 1.0 only
MAIL_EXPIRED4=198.51.100.13      # smtp-expired.example.net
MAIL_WRONGNAME4=198.51.100.14    # smtp-wrongname.example.net: certificate for www.example.org
MAIL_SELFSIGNED4=198.51.100.15   # smtp-selfsigned.example.net
MAIL_MX4=198.51.100.16           # mx.example.com: inbound MX, port 25 only, no AUTH
MAIL_RELAY4=198.51.100.17        # relay.example.net: IP-authorised relay, no AUTH
MAIL_BUSY4=198.51.100.18         # smtp-busy.example.net: 450 after AUTH (greylisting-like)
MAIL_SMTPS4=198.51.100.19        # smtps.example.net: 465 only (587 closed)
MAIL_NEG4=198.51.100.20          # smtp-auth.example.net: the healthy server, reached from CLIENT4_NEG
MAIL_POP4=198.51.100.21          # mail.example.net: POP3 110 and IMAP 143 only (Dovecot)
MAIL_ALT4=198.51.100.22          # smtp-alt.example.net: second MTA, healthy
MAIL_ALTBAD4=198.51.100.23       # smtp-alt-notls.example.net: second MTA, no STARTTLS
MAIL_STRICT4=198.51.100.24       # smtp-strict.example.net: AUTH after TLS only, no port 465
MAIL_NORELAY4=198.51.100.25      # smtp-norelay.example.net: AUTH works, relaying still refused
MAIL_SMALL4=198.51.100.26        # smtp-small.example.net: message_size_limit 100
# scripted SMTP peers (tests/lab/tools/smtp-peer), one address per script
PEER_GMAIL_APP4=198.51.100.40    # 534 5.7.9 application-specific password required
PEER_GMAIL_WEB4=198.51.100.41    # 534 5.7.14 log in via your web browser
PEER_MS_DISABLED4=198.51.100.42  # 535 5.7.139 SmtpClientAuthentication is disabled
PEER_MS_BASIC4=198.51.100.43     # 535 5.7.139 basic authentication is disabled
PEER_RATE4=198.51.100.44         # 550 5.4.5 daily sending quota exceeded
PEER_LOCKED4=198.51.100.45       # 454 4.7.0 too many login attempts
PEER_DRIP4=198.51.100.46         # hostile: greeting one byte a second
PEER_ENDLESS4=198.51.100.47      # hostile: endless EHLO reply
PEER_LONGLINE4=198.51.100.48     # hostile: a 1 MB reply line
PEER_STALL4=198.51.100.49        # hostile: accepts, never greets
PEER_MULTILINE4=198.51.100.39  # 535 5.7.139 split over two lines, the code on each (Exim style)
PEER_CONTENT4=198.51.100.50      # 554 at the end of the message: content refused (Yahoo)
PEER_HOSTILE4=198.51.100.51      # smtp-hostile.example.net: hostile peers, one port each (lib/hostile.sh)
DNS_RESOLVER4=198.51.100.53      # unbound, recursive, the client's resolver
DNS_RESOLVER6=2001:db8:5d1:2::53
DNS_AUTH4=198.51.100.54          # nsd: lab root zone and every lab zone
DNS_DEAD4=198.51.100.52          # an address of the dns host where nothing answers on 53
DNS_HOSTILE4=198.51.100.56       # tests/lab/tools/dns-peer, one port per behaviour (lib/hostile.sh)
RBL4=198.51.100.55               # rbldnsd
PROXY4=198.51.100.60             # middleboxes listen here

# isp <-> the far internet 198.51.100.128/26 (bridge br-far): independent control hosts
ISP_F4=198.51.100.129
ISP_F6=2001:db8:5d1:3::1
MX1_4=198.51.100.140             # mx1.example.org: 25, 587, 465, 443
MX1_6=2001:db8:5d1:3::140
MX2_4=198.51.100.141             # mx2.example.org
MX2_6=2001:db8:5d1:3::141

# lab users (passwords live only in files under the run directory)
LAB_USER=alice
LAB_USER_ADDR=alice@example.net
LAB_LAME_DOMAIN=unanswered.example   # a sender domain of its own whose name server does not answer
LAB_LAME_ADDR=alice@$LAB_LAME_DOMAIN  # the login may send as it too
LAB_REFUSED_DOMAIN=refused.example   # a sender domain whose name server refuses it (SERVFAIL at the resolver)
LAB_REFUSED_ADDR=alice@$LAB_REFUSED_DOMAIN
LAB_OTHER_ADDR=bob@example.org
LAB_DNSBL=bl.example.org
LAB_DBL=dbl.example.org
