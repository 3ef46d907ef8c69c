// tools/aequorctl/redactor.h: passwords, secrets and a URI's user info are
// blanked in anything aequorctl prints.
#include "tools/aequorctl/redactor.h"

#include "gtest/gtest.h"

namespace aequor {
namespace cli {
namespace {

TEST(AequorctlRedactorTest, BlanksPasswordsSecretsAndUriUserInfo) {
  Redactor r;
  r.AddSensitive("s3cr3t-value");
  r.AddSensitive("ab");  // too short to blank safely
  EXPECT_EQ(r.Apply("x s3cr3t-value y"), "x <redacted> y");
  EXPECT_EQ(r.Apply("host=h password=hunter2 user=u"), "host=h password=<redacted> user=u");
  EXPECT_EQ(r.Apply("PASSWORD = 'a b\\' c' user=u"), "PASSWORD = <redacted> user=u");
  EXPECT_EQ(r.Apply("postgresql://app:hunter2@db:5432/x?password=p2&sslmode=require"),
            "postgresql://app:<redacted>@db:5432/x?password=<redacted>&sslmode=require");
  EXPECT_EQ(r.Apply("postgresql://app@db/x"), "postgresql://app@db/x");
  EXPECT_EQ(r.Apply("password authentication failed for user \"ab\""),
            "password authentication failed for user \"ab\"");
}

}  // namespace
}  // namespace cli
}  // namespace aequor
