# DynamoDB tables for the infrar kv capability: one per logical name in the code, billed on
# demand, with the string partition key "key" (the value is JSON text in the attribute
# "value"), encrypted with a customer-managed KMS key, with point-in-time recovery and deletion
# protection, and one IAM policy that grants exactly the item actions the code performs, on
# exactly these tables. DynamoDB is reached over TLS only.

variable "tables" {
  description = "Logical name -> physical name and the IAM actions the code uses on it."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "region" {
  description = "AWS region of the tables."
  type        = string
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
  description = "Service name -> its identity and, by logical name, what its code does with each table."
  type = map(object({
    principal = string
    resources = map(list(string))
  }))
  default = {}
}

variable "deletion_protection" {
  description = "Refuse to delete a table until this is turned off."
  type        = bool
  default     = true
}

variable "kms_deletion_window_days" {
  description = "Days a deleted KMS key can still be recovered."
  type        = number
  default     = 30
}

locals {
  permissions = distinct(flatten([for table in var.tables : table.permissions]))
  # DynamoDB uses the key on the caller's behalf: reading decrypts, writing also encrypts.
  kms_actions = sort(distinct(concat(
    length(local.permissions) > 0 ? ["kms:Decrypt", "kms:DescribeKey"] : [],
    contains(local.permissions, "dynamodb:PutItem") ? ["kms:Encrypt", "kms:GenerateDataKey"] : [],
  )))
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${var.project} ${var.environment} tables."
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

resource "aws_dynamodb_table" "this" {
  for_each = var.tables

  name                        = each.value.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "key"
  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags

  attribute {
    name = "key"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  point_in_time_recovery {
    enabled = true
  }
}

data "aws_iam_policy_document" "access" {
  dynamic "statement" {
    for_each = { for key, table in var.tables : key => table if length(table.permissions) > 0 }
    content {
      actions   = sort(statement.value.permissions)
      resources = [aws_dynamodb_table.this[statement.key].arn]
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
        values   = ["dynamodb.${var.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_policy" "access" {
  name_prefix = "infrar-kv-"
  description = "What the ${var.project} ${var.environment} code does with its tables, and nothing more."
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
      length(flatten(values(grant.resources))) > 0 ? ["kms:Decrypt", "kms:DescribeKey"] : [],
      contains(flatten(values(grant.resources)), "dynamodb:PutItem") ? ["kms:Encrypt", "kms:GenerateDataKey"] : [],
    )))
  }
}

data "aws_iam_policy_document" "service" {
  for_each = var.service_grants

  dynamic "statement" {
    for_each = { for key, permissions in each.value.resources : key => permissions if length(permissions) > 0 }
    content {
      actions   = sort(statement.value)
      resources = [aws_dynamodb_table.this[statement.key].arn]
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
        values   = ["dynamodb.${var.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "service" {
  for_each = var.service_grants

  name   = "infrar-kv"
  role   = each.value.principal
  policy = data.aws_iam_policy_document.service[each.key].json
}

output "table_names" {
  description = "Physical table names, by logical name."
  value       = { for key, table in aws_dynamodb_table.this : key => table.name }
}

output "table_arns" {
  description = "Table ARNs, by logical name."
  value       = { for key, table in aws_dynamodb_table.this : key => table.arn }
}

output "access_policy_arn" {
  description = "The least-privilege IAM policy for what the code does with the tables."
  value       = aws_iam_policy.access.arn
}

output "kms_key_arn" {
  description = "The KMS key that encrypts every table."
  value       = aws_kms_key.this.arn
}
