#!/usr/bin/env bash
# One local TCP connection: a perl server on a free port of 127.0.0.1 accepts it, answers a line
# and closes; the client is bash's /dev/tcp. Prints the server's port.
set -eu
exec 4< <(perl -MIO::Socket::INET -e '
  my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1) or die "listen: $!";
  $| = 1;
  print $s->sockport, "\n";
  my $c = $s->accept or die "accept: $!";
  my $line = <$c>;
  print $c "pong\n";
  close $c;
')
read -r port <&4
exec 3<> "/dev/tcp/127.0.0.1/$port"
echo ping >&3
read -r reply <&3
exec 3>&-
echo "port $port: $reply"
