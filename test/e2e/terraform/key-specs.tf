# Keys of every spec and usage, a key policy of its own, a grant with constraints, a ciphertext
# and the secrets data source that decrypts it.

locals {
  specs = {
    symmetric       = { spec = "SYMMETRIC_DEFAULT", usage = "ENCRYPT_DECRYPT" }
    rsa2048-encrypt = { spec = "RSA_2048", usage = "ENCRYPT_DECRYPT" }
    rsa3072-sign    = { spec = "RSA_3072", usage = "SIGN_VERIFY" }
    rsa4096-sign    = { spec = "RSA_4096", usage = "SIGN_VERIFY" }
    p256-sign       = { spec = "ECC_NIST_P256", usage = "SIGN_VERIFY" }
    p384-sign       = { spec = "ECC_NIST_P384", usage = "SIGN_VERIFY" }
    p521-agreement  = { spec = "ECC_NIST_P521", usage = "KEY_AGREEMENT" }
    secp256k1-sign  = { spec = "ECC_SECG_P256K1", usage = "SIGN_VERIFY" }
    hmac224         = { spec = "HMAC_224", usage = "GENERATE_VERIFY_MAC" }
    hmac256         = { spec = "HMAC_256", usage = "GENERATE_VERIFY_MAC" }
    hmac384         = { spec = "HMAC_384", usage = "GENERATE_VERIFY_MAC" }
    hmac512         = { spec = "HMAC_512", usage = "GENERATE_VERIFY_MAC" }
  }
}

resource "aws_kms_key" "spec" {
  for_each                 = local.specs
  description              = "terraform ${each.key}"
  customer_master_key_spec = each.value.spec
  key_usage                = each.value.usage
  deletion_window_in_days  = 7
}

resource "aws_kms_key" "app" {
  description             = "terraform key with its own policy"
  deletion_window_in_days = 7
}

resource "aws_kms_key_policy" "app" {
  key_id = aws_kms_key.app.id
  policy = jsonencode({
    Version = "2012-10-17"
    Id      = "terraform"
    Statement = [
      {
        Sid       = "Enable IAM User Permissions"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${var.account}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "Administrator encrypts for the app"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${var.account}:user/admin" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "kms:EncryptionContext:app" = "terraform" } }
      },
    ]
  })
}

resource "aws_kms_grant" "app" {
  name               = "terraform-grant"
  key_id             = aws_kms_key.app.key_id
  grantee_principal  = "arn:aws:iam::${var.account}:user/admin"
  retiring_principal = "arn:aws:iam::${var.account}:user/admin"
  operations         = ["Encrypt", "Decrypt", "GenerateDataKey"]
  constraints {
    encryption_context_subset = { app = "terraform" }
  }
}

resource "aws_kms_grant" "equals" {
  name              = "terraform-grant-equals"
  key_id            = aws_kms_key.spec["symmetric"].key_id
  grantee_principal = "arn:aws:iam::${var.account}:user/admin"
  operations        = ["Decrypt"]
  constraints {
    encryption_context_equals = { app = "terraform", stage = "test" }
  }
}

resource "aws_kms_ciphertext" "secret" {
  key_id    = aws_kms_key.app.key_id
  plaintext = "a secret Terraform keeps"
  context   = { app = "terraform" }
}

data "aws_kms_secrets" "secret" {
  secret {
    name    = "secret"
    payload = aws_kms_ciphertext.secret.ciphertext_blob
    context = { app = "terraform" }
  }
}

output "decrypted" {
  value     = data.aws_kms_secrets.secret.plaintext["secret"]
  sensitive = true
}
