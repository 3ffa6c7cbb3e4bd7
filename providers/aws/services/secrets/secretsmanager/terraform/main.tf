# Secrets Manager secrets for the infrar secrets capability: one per logical name in the code.
# Terraform makes the secrets and never a value: the program stores values with set_secret,
# so none is ever in a plan, a state file or a review. Every secret is encrypted with one
# customer-managed KMS key, refuses principals of other accounts through its resource
# policy, and one IAM policy grants exactly the actions the code performs on exactly these
# secrets (Secrets Manager is reached over TLS only).

variable "secrets" {
  description = "Logical name -> physical name and the IAM actions the code uses on it."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

variable "app_role_names" {
  description = "IAM roles that receive the access policy."
  type        = list(string)
  default     = []
}

variable "service_grants" {
  description = "Service name -> its identity and, by logical name, what its code does with each secret."
  type = map(object({
    principal = string
    resources = map(list(string))
  }))
  default = {}
}

variable "recovery_window_days" {
  description = "Days a deleted secret can still be restored."
  type        = number
  default     = 30
}

variable "kms_deletion_window_days" {
  description = "Days a deleted KMS key can still be recovered."
  type        = number
  default     = 30
}

locals {
  permissions = distinct(flatten([for secret in var.secrets : secret.permissions]))
  # Secrets Manager uses the key on the caller's behalf: reading decrypts a data key, writing
  # generates one (and decrypts the value in place when a retried write is compared to it).
  kms_actions = sort(distinct(concat(
    contains(local.permissions, "secretsmanager:GetSecretValue") ? ["kms:Decrypt"] : [],
    contains(local.permissions, "secretsmanager:PutSecretValue") ? ["kms:Decrypt", "kms:GenerateDataKey"] : [],
  )))
  grants = {
    for action in sort(local.permissions) : action => sort([
      for key, secret in var.secrets : aws_secretsmanager_secret.this[key].arn if contains(secret.permissions, action)
    ])
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${var.project} ${var.environment} secrets."
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  tags                    = var.tags
  # AWS's default key policy, stated: the account administers the key through IAM. In a key
  # policy the resource "*" is the key itself, never anything else.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministersThroughIam"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_secretsmanager_secret" "this" {
  # checkov:skip=CKV2_AWS_57:The program itself writes new values with set_secret; rotation needs a rotation function the project owns.
  for_each = var.secrets

  name                    = each.value.name
  description             = "Secret ${each.key} of ${var.project} ${var.environment}; its value is set by the program."
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = var.tags
}

data "aws_iam_policy_document" "own_account_only" {
  for_each = var.secrets

  statement {
    sid       = "DenyOtherAccounts"
    effect    = "Deny"
    actions   = ["secretsmanager:*"]
    resources = ["*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_secretsmanager_secret_policy" "this" {
  for_each = var.secrets

  secret_arn          = aws_secretsmanager_secret.this[each.key].arn
  policy              = data.aws_iam_policy_document.own_account_only[each.key].json
  block_public_policy = true
}

data "aws_iam_policy_document" "access" {
  dynamic "statement" {
    for_each = local.grants
    content {
      actions   = [statement.key]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(local.kms_actions) > 0 ? [local.kms_actions] : []
    content {
      actions   = statement.value
      resources = [aws_kms_key.this.arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_policy" "access" {
  name_prefix = "infrar-secrets-"
  description = "What the ${var.project} ${var.environment} code does with its secrets, and nothing more."
  policy      = data.aws_iam_policy_document.access.json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "access" {
  for_each = toset(var.app_role_names)

  role       = each.value
  policy_arn = aws_iam_policy.access.arn
}

# Per service: the same statements, from what that service's code does alone.
locals {
  service_kms_actions = {
    for name, grant in var.service_grants : name => sort(distinct(concat(
      contains(flatten(values(grant.resources)), "secretsmanager:GetSecretValue") ? ["kms:Decrypt"] : [],
      contains(flatten(values(grant.resources)), "secretsmanager:PutSecretValue") ? ["kms:Decrypt", "kms:GenerateDataKey"] : [],
    )))
  }
}

data "aws_iam_policy_document" "service" {
  for_each = var.service_grants

  dynamic "statement" {
    for_each = { for key, permissions in each.value.resources : key => permissions if length(permissions) > 0 }
    content {
      actions   = sort(statement.value)
      resources = [aws_secretsmanager_secret.this[statement.key].arn]
    }
  }

  dynamic "statement" {
    for_each = length(local.service_kms_actions[each.key]) > 0 ? [local.service_kms_actions[each.key]] : []
    content {
      actions   = statement.value
      resources = [aws_kms_key.this.arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "service" {
  for_each = var.service_grants

  name   = "infrar-secrets"
  role   = each.value.principal
  policy = data.aws_iam_policy_document.service[each.key].json
}

output "secret_names" {
  description = "Physical secret names, by logical name."
  value       = { for key, secret in aws_secretsmanager_secret.this : key => secret.name }
}

output "secret_arns" {
  description = "Secret ARNs, by logical name."
  value       = { for key, secret in aws_secretsmanager_secret.this : key => secret.arn }
}

output "access_policy_arn" {
  description = "The least-privilege IAM policy for what the code does with its secrets."
  value       = aws_iam_policy.access.arn
}

output "kms_key_arn" {
  description = "The KMS key that encrypts every secret."
  value       = aws_kms_key.this.arn
}
