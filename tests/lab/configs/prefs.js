// Thunderbird: STARTTLS configured on 465, an implicit-TLS port
user_pref("mail.identity.id1.useremail", "alice@example.net");
user_pref("mail.identity.id1.smtpServer", "smtp1");
user_pref("mail.smtp.defaultserver", "smtp1");
user_pref("mail.smtpservers", "smtp1");
user_pref("mail.smtpserver.smtp1.hostname", "smtp.example.net");
user_pref("mail.smtpserver.smtp1.port", 465);
user_pref("mail.smtpserver.smtp1.try_ssl", 2);
user_pref("mail.smtpserver.smtp1.authMethod", 3);
user_pref("mail.smtpserver.smtp1.username", "alice");
